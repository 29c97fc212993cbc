// LayerNorm and RMSNorm over the last dimension, forward and backward, one workgroup per row
// (the row sums use the reductions that kernels/row-reduction.ts prepends).
// Forward saves per-row statistics (mean and 1/std for LayerNorm, 1/rms for RMSNorm) for the
// backward. Weight/bias gradients are column sums over rows, one invocation per column, so
// they are deterministic without float atomics. RMSNorm applies (w + wShift): Gemma stores
// its weights as w and multiplies by (1 + w).

struct Params {
  rows: u32, D: u32, eps: f32, hasBias: u32,
  xOff: u32, wOff: u32, bOff: u32, yOff: u32,
  statOff: u32, dyOff: u32, accumulate: u32, wShift: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> stat: array<f32>;
// backward bindings
@group(0) @binding(3) var<storage, read> statIn: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
// parameter-gradient bindings
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;

const WG = 64u; // reductions: reduction_shared.wgsl or reduction_subgroup.wgsl, prepended

fn row_index(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

/** LayerNorm's (mean, 1/std) of the row at `base`; the whole workgroup calls it. */
fn moments(lane: Lane, base: u32) -> vec2f {
  var s = vec2f(0.0);
  for (var c = lane.lid; c < p.D; c += WG) { s.x += x[base + c]; }
  let mean = wg_sum2(lane, s).x / f32(p.D);
  var q = vec2f(0.0);
  for (var c = lane.lid; c < p.D; c += WG) { let d = x[base + c] - mean; q.x += d * d; }
  return vec2f(mean, inverseSqrt(wg_sum2(lane, q).x / f32(p.D) + p.eps));
}

/** RMSNorm's 1/rms of the row at `base`; the whole workgroup calls it. */
fn rms_rstd(lane: Lane, base: u32) -> f32 {
  var q = vec2f(0.0);
  for (var c = lane.lid; c < p.D; c += WG) { let v = x[base + c]; q.x += v * v; }
  return inverseSqrt(wg_sum2(lane, q).x / f32(p.D) + p.eps);
}

@compute @workgroup_size(64)
fn layernorm_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let row = row_index(wid, nwg);
  if (row >= p.rows) { return; }
  let lid = lane.lid;
  let base = p.xOff + row * p.D;
  let ms = moments(lane, base);
  let mean = ms.x;
  let rstd = ms.y;
  for (var c = lid; c < p.D; c += WG) {
    var v = (x[base + c] - mean) * rstd * w[p.wOff + c];
    if (p.hasBias != 0u) { v += b[p.bOff + c]; }
    y[p.yOff + row * p.D + c] = v;
  }
  if (lid == 0u) {
    stat[p.statOff + 2u * row] = mean;
    stat[p.statOff + 2u * row + 1u] = rstd;
  }
}

@compute @workgroup_size(64)
fn rmsnorm_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let row = row_index(wid, nwg);
  if (row >= p.rows) { return; }
  let lid = lane.lid;
  let base = p.xOff + row * p.D;
  let r = rms_rstd(lane, base);
  for (var c = lid; c < p.D; c += WG) {
    let v = x[base + c] * r * (w[p.wOff + c] + p.wShift);
    let i = p.yOff + row * p.D + c;
    if (p.accumulate != 0u) { y[i] += v; } else { y[i] = v; }
  }
  if (lid == 0u) { stat[p.statOff + row] = r; }
}

// Statistics only, for a norm whose consumers read x through it (kernels/matmul-prologue.ts).
@compute @workgroup_size(64)
fn layernorm_stats(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let row = row_index(wid, nwg);
  if (row >= p.rows) { return; }
  let ms = moments(lane, p.xOff + row * p.D);
  if (lane.lid == 0u) {
    stat[p.statOff + 2u * row] = ms.x;
    stat[p.statOff + 2u * row + 1u] = ms.y;
  }
}

@compute @workgroup_size(64)
fn rmsnorm_stats(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let row = row_index(wid, nwg);
  if (row >= p.rows) { return; }
  let r = rms_rstd(lane, p.xOff + row * p.D);
  if (lane.lid == 0u) { stat[p.statOff + row] = r; }
}

// dx (+)= rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w.
@compute @workgroup_size(64)
fn layernorm_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let row = row_index(wid, nwg);
  if (row >= p.rows) { return; }
  let lid = lane.lid;
  let base = row * p.D;
  let mean = statIn[p.statOff + 2u * row];
  let rstd = statIn[p.statOff + 2u * row + 1u];
  var s = vec2f(0.0);
  for (var c = lid; c < p.D; c += WG) {
    let g = dy[p.dyOff + base + c] * w[p.wOff + c];
    let xh = (x[p.xOff + base + c] - mean) * rstd;
    s += vec2f(g, g * xh);
  }
  let m = wg_sum2(lane, s) / f32(p.D);
  for (var c = lid; c < p.D; c += WG) {
    let g = dy[p.dyOff + base + c] * w[p.wOff + c];
    let xh = (x[p.xOff + base + c] - mean) * rstd;
    let v = rstd * (g - m.x - xh * m.y);
    let i = p.yOff + base + c;
    if (p.accumulate != 0u) { y[i] += v; } else { y[i] = v; }
  }
}

// dx (+)= r * (g - x * r^2 * mean(g * x)), g = dy * w.
@compute @workgroup_size(64)
fn rmsnorm_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let row = row_index(wid, nwg);
  if (row >= p.rows) { return; }
  let lid = lane.lid;
  let base = row * p.D;
  let r = statIn[p.statOff + row];
  var s = vec2f(0.0);
  for (var c = lid; c < p.D; c += WG) {
    s.x += dy[p.dyOff + base + c] * (w[p.wOff + c] + p.wShift) * x[p.xOff + base + c];
  }
  let mgx = wg_sum2(lane, s).x / f32(p.D);
  for (var c = lid; c < p.D; c += WG) {
    let xv = x[p.xOff + base + c];
    let v = r * (dy[p.dyOff + base + c] * (w[p.wOff + c] + p.wShift) - xv * r * r * mgx);
    let i = p.yOff + base + c;
    if (p.accumulate != 0u) { y[i] += v; } else { y[i] = v; }
  }
}

// dw[c] += sum_rows dy * xhat (hasBias = 0) or db[c] += sum_rows dy (hasBias = 1), one invocation
// per column. Weight and bias gradients are separate dispatches: they usually share one buffer,
// which a dispatch may bind writable only once.
@compute @workgroup_size(64)
fn layernorm_param_grads(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.D) { return; }
  var s = 0.0;
  for (var row = 0u; row < p.rows; row++) {
    let g = dy[p.dyOff + row * p.D + c];
    if (p.hasBias != 0u) {
      s += g;
    } else {
      s += g * (x[p.xOff + row * p.D + c] - statIn[p.statOff + 2u * row]) * statIn[p.statOff + 2u * row + 1u];
    }
  }
  dw[p.wOff + c] += s;
}

@compute @workgroup_size(64)
fn rmsnorm_param_grads(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.D) { return; }
  var sw = 0.0;
  for (var row = 0u; row < p.rows; row++) {
    sw += dy[p.dyOff + row * p.D + c] * x[p.xOff + row * p.D + c] * statIn[p.statOff + row];
  }
  dw[p.wOff + c] += sw;
}
