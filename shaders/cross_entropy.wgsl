// Softmax cross-entropy over a vocabulary split into chunks (logits for 151,936 tokens x 2,048
// positions do not fit one binding). Per row: a running max and sum of exponentials are merged
// chunk by chunk (online log-sum-exp) and the target's logit is picked from the chunk holding it.
// stats[3t..3t+2] = (max, sum, target logit); after `finish`, stats[3t] = lse.
// Targets are u32 with 0xffffffff for ignored positions (label -100).

struct Params {
  T: u32, Vc: u32, v0: u32, first: u32,
  logitsOff: u32, ldl: u32, scaleSlot: u32, targetsOff: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;
// finish: per-row loss out; grad: loss scale (1 / number of target tokens) in a step slot
@group(0) @binding(1) var<storage, read_write> rowLoss: array<f32>;
@group(0) @binding(4) var<storage, read> step: array<f32>;
@group(0) @binding(3) var<storage, read> statsIn: array<f32>;

const IGNORE = 0xffffffffu;
const WG = 64u; // reductions: reduction_shared.wgsl or reduction_subgroup.wgsl, prepended

@compute @workgroup_size(64)
fn chunk_stats(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let t = wid.x + wid.y * nwg.x;
  if (t >= p.T) { return; }
  let lid = lane.lid;
  let base = p.logitsOff + t * p.ldl;
  var m = -3.0e38;
  for (var c = lid; c < p.Vc; c += WG) { m = max(m, logits[base + c]); }
  let mc = wg_max(lane, m);
  var sum = 0.0;
  for (var c = lid; c < p.Vc; c += WG) { sum += exp(logits[base + c] - mc); }
  let sc = wg_sum(lane, sum);
  if (lid != 0u) { return; }
  let tgt = targets[p.targetsOff + t];
  if (p.first != 0u) {
    stats[3u * t] = mc;
    stats[3u * t + 1u] = sc;
    stats[3u * t + 2u] = 0.0;
  } else {
    let m0 = stats[3u * t];
    let mNew = max(m0, mc);
    stats[3u * t + 1u] = stats[3u * t + 1u] * exp(m0 - mNew) + sc * exp(mc - mNew);
    stats[3u * t] = mNew;
  }
  if (tgt != IGNORE && tgt >= p.v0 && tgt < p.v0 + p.Vc) {
    stats[3u * t + 2u] = logits[base + tgt - p.v0];
  }
}

// stats[3t] = lse; rowLoss[t] = lse - tgt logit (0 for ignored rows).
@compute @workgroup_size(64)
fn finish(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= p.T) { return; }
  let lse = stats[3u * t] + log(stats[3u * t + 1u]);
  stats[3u * t] = lse;
  rowLoss[t] = select(lse - stats[3u * t + 2u], 0.0, targets[p.targetsOff + t] == IGNORE);
}

// In place: logits chunk -> d(loss)/d(logits) = (softmax - onehot) * scale, 0 on ignored rows.
@compute @workgroup_size(256)
fn chunk_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.T * p.Vc) { return; }
  let t = i / p.Vc;
  let c = i % p.Vc;
  let idx = p.logitsOff + t * p.ldl + c;
  let tgt = targets[p.targetsOff + t];
  if (tgt == IGNORE) {
    logits[idx] = 0.0;
    return;
  }
  let prob = exp(logits[idx] - statsIn[3u * t]);
  let hit = select(0.0, 1.0, tgt == p.v0 + c);
  logits[idx] = (prob - hit) * step[p.scaleSlot];
}
