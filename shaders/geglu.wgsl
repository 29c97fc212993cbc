// GeGLU (Gemma's MLP): y = gelu_tanh(gate) * up, from the fused [rows, 2*width] gate|up
// projection (gate in columns [0, width), up in [width, 2*width)), and its backward.

struct Params {
  n: u32, width: u32, xOff: u32, yOff: u32,
  dyOff: u32, _p0: u32, _p1: u32, _p2: u32,
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

@compute @workgroup_size(256)
fn geglu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let gi = p.xOff + (i / p.width) * 2u * p.width + i % p.width;
  let g = x[gi];
  let t = tanh_safe(SQRT_2_OVER_PI * (g + GELU_C * g * g * g));
  y[p.yOff + i] = 0.5 * g * (1.0 + t) * x[gi + p.width];
}

// From dy [rows, width] to y = d(gate|up) [rows, 2*width].
@compute @workgroup_size(256)
fn geglu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let col = (i / p.width) * 2u * p.width + i % p.width;
  let g = x[p.xOff + col];
  let u = x[p.xOff + col + p.width];
  let t = tanh_safe(SQRT_2_OVER_PI * (g + GELU_C * g * g * g));
  let d = dy[p.dyOff + i];
  let dgelu = 0.5 * (1.0 + t) + 0.5 * g * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * g * g);
  y[p.yOff + col] = d * u * dgelu;
  y[p.yOff + col + p.width] = d * 0.5 * g * (1.0 + t);
}
