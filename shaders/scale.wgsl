// x *= s in place over n elements (Gemma's embedding scale and its gradient).

struct Params {
  n: u32, off: u32, s: f32, _p: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(256)
fn scale(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  x[p.off + i] = x[p.off + i] * p.s;
}
