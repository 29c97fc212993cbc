// The load-balancing loss as transformers' load_balancing_loss_func computes it over the router
// outputs of all L layers together, with the batch's attention mask: padding rows (isReal[t] = 0) are
// left out, prompt tokens stay in (N = L·M rows, M the real tokens): aux = E · sum_e f_e · P_e, with
// f_e the share of rows that chose expert e (summed over the k choices) and P_e its mean probability.
// route_stats (one invocation per expert) writes layer l's count and probability sum of expert e;
// aux_loss (one invocation) adds them up, counts the micro-batch's target and real tokens, and adds
// coef · aux · targets to the step's loss sum (the loss is that sum over the step's targets).
// stats: [L·2E per-layer counts|psums, aux, targets, E total counts, real tokens M].

struct Params {
  T: u32, E: u32, L: u32, layer: u32,
  lossSumSlot: u32, targetsOff: u32, realOff: u32, _p2: u32,
  coef: f32, _p3: u32, _p4: u32, _p5: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> sel: array<f32>;
@group(0) @binding(3) var<storage, read> targets: array<u32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> step: array<f32>;
@group(0) @binding(6) var<storage, read> isReal: array<u32>;

@compute @workgroup_size(256)
fn route_stats(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.x;
  if (e >= p.E) { return; }
  var count = 0.0;
  var psum = 0.0;
  for (var t = 0u; t < p.T; t++) {
    if (isReal[p.realOff + t] == 0u) { continue; }
    count += sel[t * p.E + e];
    psum += probs[t * p.E + e];
  }
  stats[p.layer * 2u * p.E + e] = count;
  stats[p.layer * 2u * p.E + p.E + e] = psum;
}

@compute @workgroup_size(1)
fn aux_loss() {
  let tail = p.L * 2u * p.E;
  var m = 0u;
  for (var t = 0u; t < p.T; t++) { m += min(isReal[p.realOff + t], 1u); }
  let n = f32(p.L * m);
  var aux = 0.0;
  for (var e = 0u; e < p.E; e++) {
    var count = 0.0;
    var psum = 0.0;
    for (var l = 0u; l < p.L; l++) {
      count += stats[l * 2u * p.E + e];
      psum += stats[l * 2u * p.E + p.E + e];
    }
    stats[tail + 2u + e] = count;
    aux += count * psum;
  }
  // A micro-batch of padding only (a short last batch) has no aux loss.
  aux = select(0.0, aux * f32(p.E) / (n * n), m > 0u);
  var counted = 0u;
  for (var t = 0u; t < p.T; t++) {
    if (targets[p.targetsOff + t] != 0xffffffffu) { counted++; }
  }
  stats[tail] = aux;
  stats[tail + 1u] = f32(counted);
  stats[tail + 2u + p.E] = f32(m);
  step[p.lossSumSlot] += p.coef * aux * f32(counted);
}
