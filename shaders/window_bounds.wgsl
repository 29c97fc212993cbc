// Sliding-window attention bounds from causal ones: a query at key index hi sees keys
// [max(lo, hi + 1 - W), hi] (the last W keys, itself included, as transformers' sliding mask:
// kv > q - W), and key j is seen by queries [j, min(hi, j + W - 1)]. Bounds are u32 pairs.

struct Params {
  T: u32, window: u32, qIn: u32, kIn: u32,
  qOut: u32, kOut: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(256)
fn window_bounds(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * 256u;
  if (t >= p.T) { return; }
  let qlo = src[p.qIn + 2u * t];
  let qhi = src[p.qIn + 2u * t + 1u];
  var lo = qlo;
  if (qhi + 1u > p.window) { lo = max(qlo, qhi + 1u - p.window); }
  dst[p.qOut + 2u * t] = lo;
  dst[p.qOut + 2u * t + 1u] = qhi;
  let klo = src[p.kIn + 2u * t];
  let khi = src[p.kIn + 2u * t + 1u];
  dst[p.kOut + 2u * t] = klo;
  dst[p.kOut + 2u * t + 1u] = min(khi, klo + p.window - 1u);
}
