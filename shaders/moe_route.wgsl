// Mixture-of-experts routing, one invocation per token: softmax over the E router logits, the
// top-k experts (largest probability first; ties to the lower index), and the combine weight of
// every expert: its probability (divided by the top-k sum when norm != 0) if chosen, else 0. With
// a shared expert (shared != 0) its gate logit is column E and its weight is sigmoid(logit).
// Rows of logits and comb have R = E (+1) columns; probs and sel have E.

struct Params {
  T: u32, E: u32, K: u32, R: u32,
  norm: u32, hasShared: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;
@group(0) @binding(3) var<storage, read_write> comb: array<f32>;
@group(0) @binding(4) var<storage, read_write> sel: array<f32>;

@compute @workgroup_size(256)
fn route(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * 256u;
  if (t >= p.T) { return; }
  let lo = t * p.R;
  let po = t * p.E;
  var m = logits[lo];
  for (var e = 1u; e < p.E; e++) { m = max(m, logits[lo + e]); }
  var z = 0.0;
  for (var e = 0u; e < p.E; e++) {
    let v = exp(logits[lo + e] - m);
    probs[po + e] = v;
    sel[po + e] = 0.0;
    z += v;
  }
  for (var e = 0u; e < p.E; e++) { probs[po + e] = probs[po + e] / z; }
  var top = 0.0;
  for (var k = 0u; k < p.K; k++) {
    var best = p.E;
    for (var e = 0u; e < p.E; e++) {
      if (sel[po + e] == 0.0 && (best == p.E || probs[po + e] > probs[po + best])) { best = e; }
    }
    sel[po + best] = 1.0;
    top += probs[po + best];
  }
  let scale = select(1.0, 1.0 / top, p.norm != 0u);
  for (var e = 0u; e < p.E; e++) { comb[lo + e] = sel[po + e] * probs[po + e] * scale; }
  if (p.hasShared != 0u) { comb[lo + p.E] = 1.0 / (1.0 + exp(-logits[lo + p.E])); }
}
