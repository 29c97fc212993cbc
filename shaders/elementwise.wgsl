// Elementwise kernels over n elements: y = alpha*x + beta*y (copy, scale, axpy, residual add),
// fill, and c = a + b. 1-D grids are folded over x and y (256 invocations per workgroup).

struct Params {
  n: u32, xOff: u32, yOff: u32, zOff: u32,
  alpha: f32, beta: f32, value: f32, _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> z: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// y = alpha * x + beta * y (beta = 0 never reads y, so y may hold NaN garbage).
@compute @workgroup_size(256)
fn axpby(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  var v = p.alpha * x[p.xOff + i];
  if (p.beta != 0.0) { v += p.beta * y[p.yOff + i]; }
  y[p.yOff + i] = v;
}

// y = x + z (a residual connection written to a third buffer).
@compute @workgroup_size(256)
fn add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  y[p.yOff + i] = x[p.xOff + i] + z[p.zOff + i];
}

@compute @workgroup_size(256)
fn fill(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  y[p.yOff + i] = p.value;
}
