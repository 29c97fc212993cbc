// Scales every row t of a [T, Vc] matrix (row stride ld, from offset off) by w[t]: the
// per-token weight of a loss gradient, e.g. d(preference loss)/d(sequence log-prob) applied to
// the cross-entropy gradient of the logits. 1-D grid folded as gid.x + gid.y*nwg.x*256.

struct Params {
  T: u32, Vc: u32, off: u32, ld: u32,
  wOff: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;

@compute @workgroup_size(256)
fn scale_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.T * p.Vc) { return; }
  let t = i / p.Vc;
  let idx = p.off + t * p.ld + i % p.Vc;
  x[idx] = x[idx] * w[p.wOff + t];
}
