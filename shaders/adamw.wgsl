// AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias correction), over a range of
// a packed parameter buffer, with the global gradient-norm clip of clip_grad_norm_ folded in.
// Learning rate and bias corrections come from the step-state buffer, written once per step,
// so a replayed plan never freezes the schedule. A non-finite gradient norm skips the update.

struct Params {
  n: u32, pOff: u32, gOff: u32, sOff: u32,
  beta1: f32, beta2: f32, eps: f32, weightDecay: f32,
  maxNorm: f32, lrScale: f32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> step: array<f32>;

// Step-state slots (src/core/train/step-state.ts).
const LR = 0u;
const BC1 = 1u;
const BC2 = 2u;
const GRAD_NORM_SQ = 3u;

fn finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(256)
fn update(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let normSq = step[GRAD_NORM_SQ];
  if (!finite(normSq)) { return; }
  var coef = 1.0;
  if (p.maxNorm > 0.0) { coef = min(1.0, p.maxNorm / (sqrt(normSq) + 1e-6)); }
  // lrScale: a parameter group's multiple of the step's rate (LoRA+ gives B ratio × A's).
  let lr = step[LR] * p.lrScale;
  let g = grad[p.gOff + i] * coef;
  let mi = p.beta1 * m[p.sOff + i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[p.sOff + i] + (1.0 - p.beta2) * g * g;
  m[p.sOff + i] = mi;
  v[p.sOff + i] = vi;
  let denom = sqrt(vi) / sqrt(step[BC2]) + p.eps;
  let w = param[p.pOff + i] * (1.0 - lr * p.weightDecay);
  param[p.pOff + i] = w - (lr / step[BC1]) * mi / denom;
}
