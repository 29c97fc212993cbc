// A learned gate over K stacked LoRA adapters (adapter-gate.ts). The stacked adapter's rank
// columns are split into K blocks; owner[c] names the adapter of column c. Per token i the gate
// g[i, k] = softmax_k(logits[i, :]) scales block k of t = x·Aᵀ before t·Bᵀ.
// 1-D grids folded as gid.x + gid.y*nwg.x*256.

struct Params {
  T: u32, K: u32, R: u32, xOff: u32,
  gOff: u32, yOff: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> owner: array<u32>;

fn flat(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * 256u; }

// In place over y = logits [T, K]: a softmax per row (one invocation per token).
@compute @workgroup_size(256)
fn softmax_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.T) { return; }
  let row = p.yOff + i * p.K;
  var m = y[row];
  for (var k = 1u; k < p.K; k++) { m = max(m, y[row + k]); }
  var z = 0.0;
  for (var k = 0u; k < p.K; k++) {
    let e = exp(y[row + k] - m);
    y[row + k] = e;
    z += e;
  }
  for (var k = 0u; k < p.K; k++) { y[row + k] = y[row + k] / z; }
}

// y[i, c] = x[i, c] · g[i, owner[c]] for t = x [T, R].
@compute @workgroup_size(256)
fn scale_blocks(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = flat(gid, nwg);
  if (j >= p.T * p.R) { return; }
  let i = j / p.R;
  let c = j % p.R;
  y[p.yOff + j] = x[p.xOff + j] * g[p.gOff + i * p.K + owner[c]];
}

// Backward of scale_blocks, one invocation per (token i, adapter k). On entry y holds d(t⊙g)
// [T, R]; dg[i, k] += Σ_{c in block k} y[i, c]·t[i, c]; then y[i, c] = g[i, k]·y[i, c] (dt).
@group(0) @binding(5) var<storage, read_write> dg: array<f32>;

@compute @workgroup_size(256)
fn blocks_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = flat(gid, nwg);
  if (j >= p.T * p.K) { return; }
  let i = j / p.K;
  let k = j % p.K;
  let gk = g[p.gOff + j];
  var s = 0.0;
  for (var c = 0u; c < p.R; c++) {
    if (owner[c] != k) { continue; }
    let at = p.yOff + i * p.R + c;
    s += y[at] * x[p.xOff + i * p.R + c];
    y[at] = gk * y[at];
  }
  dg[j] = dg[j] + s;
}

// In place over y = dg [T, K]: d(logits) = g ⊙ (dg − Σ_k g_k·dg_k), the softmax backward.
@compute @workgroup_size(256)
fn softmax_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.T) { return; }
  let row = i * p.K;
  var dot = 0.0;
  for (var k = 0u; k < p.K; k++) { dot += g[p.gOff + row + k] * y[p.yOff + row + k]; }
  for (var k = 0u; k < p.K; k++) { y[p.yOff + row + k] = g[p.gOff + row + k] * (y[p.yOff + row + k] - dot); }
}
