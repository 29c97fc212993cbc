// Backward of moe_route, one invocation per token: from d(comb) to d(router logits), plus the
// gradient of the load-balancing loss. Through the renormalised top-k weights c = p/Z (Z = sum of
// the chosen p): dp_e = (dc_e - sum_S dc_j c_j) / Z for chosen e; without renormalisation dp_e =
// dc_e. The aux loss E/N^2 · sum_e count_e · psum_e (counts not differentiable; N = L·M over the M
// real tokens) adds g · count_e to every dp_e of a real token, g = lossScale · targets · coef · E / N^2;
// padding tokens get none. coefOverN2 is coef / (L·T)^2, rescaled by (T/M)^2 here (exactly 1 without
// padding). Softmax: dl = p (dp - p·dp). Shared expert: dl = dc · s (1 - s).
// stats: [L·2E per-layer counts|psums, aux, targets, E totals, real tokens M].

struct Params {
  T: u32, E: u32, R: u32, norm: u32,
  hasShared: u32, statsTail: u32, lossScaleSlot: u32, realOff: u32,
  coefOverN2: f32, _p1: u32, _p2: u32, _p3: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dcomb: array<f32>;
@group(0) @binding(2) var<storage, read> probs: array<f32>;
@group(0) @binding(3) var<storage, read> comb: array<f32>;
@group(0) @binding(4) var<storage, read> sel: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read> step: array<f32>;
@group(0) @binding(7) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(8) var<storage, read> isReal: array<u32>;

@compute @workgroup_size(256)
fn route_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * 256u;
  if (t >= p.T) { return; }
  let lo = t * p.R;
  let po = t * p.E;
  var g = 0.0;
  if (isReal[p.realOff + t] != 0u) {
    let share = f32(p.T) / stats[p.statsTail + 2u + p.E];
    g = step[p.lossScaleSlot] * stats[p.statsTail + 1u] * p.coefOverN2 * f32(p.E) * (share * share);
  }
  var z = 0.0;
  var cdc = 0.0;
  for (var e = 0u; e < p.E; e++) {
    if (sel[po + e] != 0.0) {
      z += probs[po + e];
      cdc += dcomb[lo + e] * comb[lo + e];
    }
  }
  // dlogits first holds dp, then the softmax backward in place.
  var dot = 0.0;
  for (var e = 0u; e < p.E; e++) {
    var dp = g * stats[p.statsTail + 2u + e];
    if (sel[po + e] != 0.0) {
      if (p.norm != 0u) { dp += (dcomb[lo + e] - cdc) / z; } else { dp += dcomb[lo + e]; }
    }
    dlogits[lo + e] = dp;
    dot += probs[po + e] * dp;
  }
  for (var e = 0u; e < p.E; e++) { dlogits[lo + e] = probs[po + e] * (dlogits[lo + e] - dot); }
  if (p.hasShared != 0u) {
    let s = comb[lo + p.E];
    dlogits[lo + p.E] = dcomb[lo + p.E] * s * (1.0 - s);
  }
}
