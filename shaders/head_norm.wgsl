// RMSNorm over each head of a strided q or k block (Qwen3's q_norm / k_norm), in place, one
// invocation per (token, head) row: head h of token t is x[xOff + t*stride + h*headDim + i].
// The forward saves the input (dense [T*heads, headDim]) and 1/rms per row for the backward.
// The weight gradient is one invocation per column summing over rows (deterministic).
// The weight applies as (w + wShift): Gemma stores w and multiplies by (1 + w).

struct Params {
  T: u32, heads: u32, headDim: u32, stride: u32,
  xOff: u32, wOff: u32, savedOff: u32, statOff: u32,
  eps: f32, accumulate: u32, wShift: f32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> saved: array<f32>;
@group(0) @binding(4) var<storage, read_write> stat: array<f32>;
// backward bindings: x holds dy on entry and dx on exit
@group(0) @binding(3) var<storage, read> savedIn: array<f32>;
@group(0) @binding(4) var<storage, read> statIn: array<f32>;
// weight-gradient bindings: dy is read, dw accumulates
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

fn at(row: u32) -> u32 {
  return p.xOff + (row / p.heads) * p.stride + (row % p.heads) * p.headDim;
}

@compute @workgroup_size(256)
fn head_norm_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = index(gid, nwg);
  if (row >= p.T * p.heads) { return; }
  let base = at(row);
  let sBase = p.savedOff + row * p.headDim;
  var ss = 0.0;
  for (var i = 0u; i < p.headDim; i++) {
    let v = x[base + i];
    ss += v * v;
    saved[sBase + i] = v;
  }
  let r = inverseSqrt(ss / f32(p.headDim) + p.eps);
  for (var i = 0u; i < p.headDim; i++) { x[base + i] = saved[sBase + i] * r * (w[p.wOff + i] + p.wShift); }
  stat[p.statOff + row] = r;
}

// dx = r * (g - xhat * mean(g * xhat)), g = dy * w, xhat = x * r.
@compute @workgroup_size(256)
fn head_norm_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = index(gid, nwg);
  if (row >= p.T * p.heads) { return; }
  let base = at(row);
  let sBase = p.savedOff + row * p.headDim;
  let r = statIn[p.statOff + row];
  var dot = 0.0;
  for (var i = 0u; i < p.headDim; i++) { dot += x[base + i] * (w[p.wOff + i] + p.wShift) * savedIn[sBase + i] * r; }
  let m = dot / f32(p.headDim);
  for (var i = 0u; i < p.headDim; i++) {
    let g = x[base + i] * (w[p.wOff + i] + p.wShift);
    x[base + i] = r * (g - savedIn[sBase + i] * r * m);
  }
}

// dw[i] (+)= sum over rows of dy * xhat.
@compute @workgroup_size(256)
fn head_norm_weight_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.headDim) { return; }
  var s = 0.0;
  for (var row = 0u; row < p.T * p.heads; row++) {
    s += dy[at(row) + i] * savedIn[p.savedOff + row * p.headDim + i] * statIn[p.statOff + row];
  }
  if (p.accumulate != 0u) { s += dw[p.wOff + i]; }
  dw[p.wOff + i] = s;
}
