// Activations, forward and backward: gelu_new (tanh approximation), silu, and the SwiGLU
// product silu(gate) * up. SwiGLU reads gate and up from one [rows, 2*width] buffer (the fused
// gate_up projection): gate in columns [0, width), up in [width, 2*width).

struct Params {
  n: u32, width: u32, xOff: u32, yOff: u32,
  dyOff: u32, accumulate: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;

const SQRT_2_OVER_PI = 0.7978845608028654;
const GELU_C = 0.044715;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// tanh that stays finite for large |x| on every backend.
fn tanh_safe(v: f32) -> f32 {
  let c = clamp(v, -15.0, 15.0);
  let e = exp(2.0 * c);
  return (e - 1.0) / (e + 1.0);
}

fn sigmoid(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(-v));
}

fn store(i: u32, v: f32) {
  if (p.accumulate != 0u) { y[i] += v; } else { y[i] = v; }
}

@compute @workgroup_size(256)
fn gelu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let v = x[p.xOff + i];
  y[p.yOff + i] = 0.5 * v * (1.0 + tanh_safe(SQRT_2_OVER_PI * (v + GELU_C * v * v * v)));
}

// y (+)= dy * gelu'(x)
@compute @workgroup_size(256)
fn gelu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let v = x[p.xOff + i];
  let t = tanh_safe(SQRT_2_OVER_PI * (v + GELU_C * v * v * v));
  let d = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * v * v);
  store(p.yOff + i, dy[p.dyOff + i] * d);
}

@compute @workgroup_size(256)
fn silu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let v = x[p.xOff + i];
  y[p.yOff + i] = v * sigmoid(v);
}

@compute @workgroup_size(256)
fn silu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let v = x[p.xOff + i];
  let s = sigmoid(v);
  store(p.yOff + i, dy[p.dyOff + i] * s * (1.0 + v * (1.0 - s)));
}

// y[r, c] = silu(x[r, c]) * x[r, width + c]; n = rows * width.
@compute @workgroup_size(256)
fn swiglu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let r = i / p.width;
  let c = i % p.width;
  let g = x[p.xOff + r * 2u * p.width + c];
  let u = x[p.xOff + r * 2u * p.width + p.width + c];
  y[p.yOff + i] = g * sigmoid(g) * u;
}

// From dy [rows, width] to y = d(gate_up) [rows, 2*width].
@compute @workgroup_size(256)
fn swiglu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let r = i / p.width;
  let c = i % p.width;
  let gi = r * 2u * p.width + c;
  let g = x[p.xOff + gi];
  let u = x[p.xOff + gi + p.width];
  let s = sigmoid(g);
  let d = dy[p.dyOff + i];
  store(p.yOff + gi, d * u * s * (1.0 + g * (1.0 - s)));
  store(p.yOff + gi + p.width, d * g * s);
}
