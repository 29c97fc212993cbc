// Causal scaled-dot-product attention with grouped-query heads, flash-style: the forward keeps
// a running max and sum per query (online softmax) and never materialises the T x T matrix; it
// saves the log-sum-exp per (token, head) for the backward, which recomputes probabilities.
//
// Tokens are rows; q, k, v, o are read as vec4 (head_dim % 4 == 0, offsets and strides in vec4
// units). Query token t (sequence t / Sq) sees keys [bounds[2t], bounds[2t+1]] of its own
// sequence: causal masking, packed-example boundaries and a KV cache all reduce to that range.
// For the key-side backward, kbounds[2j], kbounds[2j+1] is the range of queries that see key j.
// These per-row kernels are the reference path (gpu.tuning.tiledAttention = false) and decode a
// few tokens; attention_tiled.wgsl (workgroup tiles, FlashAttention-2) is the default otherwise.

struct Params {
  T: u32, H: u32, KVH: u32, hd4: u32,
  Sq: u32, Sk: u32, scale: f32, boundsOff: u32,
  qOff: u32, qStride: u32, kOff: u32, kStride: u32,
  vOff: u32, vStride: u32, oOff: u32, oStride: u32,
  lseOff: u32, keys: u32, _p1: u32, _p2: u32,
}

const MAXV = 32u; // head_dim up to 128
const NEG = -3.0e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4f>;
@group(0) @binding(2) var<storage, read> k: array<vec4f>;
@group(0) @binding(3) var<storage, read> v: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> o: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read> bounds: array<u32>;
// backward
@group(0) @binding(4) var<storage, read> dout: array<vec4f>;
@group(0) @binding(5) var<storage, read> lseIn: array<f32>;
@group(0) @binding(7) var<storage, read> delta: array<f32>;
@group(0) @binding(8) var<storage, read_write> grad: array<vec4f>;
// delta = rowsum(dO * O)
@group(0) @binding(1) var<storage, read> oIn: array<vec4f>;
@group(0) @binding(2) var<storage, read> doIn: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> deltaOut: array<f32>;

fn linear(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= p.T * p.H) { return; }
  let h = i % p.H;
  let t = i / p.H;
  let g = h / (p.H / p.KVH);
  let kv0 = (t / p.Sq) * p.Sk;
  var qv: array<vec4f, MAXV>;
  var acc: array<vec4f, MAXV>;
  let qb = p.qOff + t * p.qStride + h * p.hd4;
  for (var c = 0u; c < p.hd4; c++) {
    qv[c] = q[qb + c] * p.scale;
    acc[c] = vec4f(0.0);
  }
  var m = NEG;
  var l = 0.0;
  let lo = bounds[p.boundsOff + 2u * t];
  let hi = bounds[p.boundsOff + 2u * t + 1u];
  for (var j = lo; j <= hi; j++) {
    let kb = p.kOff + (kv0 + j) * p.kStride + g * p.hd4;
    var s = 0.0;
    for (var c = 0u; c < p.hd4; c++) { s += dot(qv[c], k[kb + c]); }
    let mNew = max(m, s);
    let corr = exp(m - mNew);
    let e = exp(s - mNew);
    l = l * corr + e;
    let vb = p.vOff + (kv0 + j) * p.vStride + g * p.hd4;
    for (var c = 0u; c < p.hd4; c++) { acc[c] = acc[c] * corr + e * v[vb + c]; }
    m = mNew;
  }
  let ob = p.oOff + t * p.oStride + h * p.hd4;
  let inv = select(0.0, 1.0 / l, l > 0.0);
  for (var c = 0u; c < p.hd4; c++) { o[ob + c] = acc[c] * inv; }
  lse[p.lseOff + i] = m + log(l);
}

// delta[t, h] = dot(dO[t, h], O[t, h])
@compute @workgroup_size(64)
fn delta_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= p.T * p.H) { return; }
  let h = i % p.H;
  let t = i / p.H;
  let ob = p.oOff + t * p.oStride + h * p.hd4;
  var s = 0.0;
  for (var c = 0u; c < p.hd4; c++) { s += dot(doIn[ob + c], oIn[ob + c]); }
  deltaOut[i] = s;
}

// dQ[t, h] = scale * sum_j P_tj (dP_tj - delta_t) k_j, written at q's place in `grad`.
@compute @workgroup_size(64)
fn backward_q(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= p.T * p.H) { return; }
  let h = i % p.H;
  let t = i / p.H;
  let g = h / (p.H / p.KVH);
  let kv0 = (t / p.Sq) * p.Sk;
  var qv: array<vec4f, MAXV>;
  var dov: array<vec4f, MAXV>;
  var dq: array<vec4f, MAXV>;
  let qb = p.qOff + t * p.qStride + h * p.hd4;
  let ob = p.oOff + t * p.oStride + h * p.hd4;
  for (var c = 0u; c < p.hd4; c++) {
    qv[c] = q[qb + c] * p.scale;
    dov[c] = dout[ob + c];
    dq[c] = vec4f(0.0);
  }
  let L = lseIn[p.lseOff + i];
  let D = delta[i];
  let lo = bounds[p.boundsOff + 2u * t];
  let hi = bounds[p.boundsOff + 2u * t + 1u];
  for (var j = lo; j <= hi; j++) {
    let kb = p.kOff + (kv0 + j) * p.kStride + g * p.hd4;
    let vb = p.vOff + (kv0 + j) * p.vStride + g * p.hd4;
    var s = 0.0;
    var dp = 0.0;
    for (var c = 0u; c < p.hd4; c++) {
      s += dot(qv[c], k[kb + c]);
      dp += dot(dov[c], v[vb + c]);
    }
    let ds = exp(s - L) * (dp - D);
    for (var c = 0u; c < p.hd4; c++) { dq[c] += ds * k[kb + c]; }
  }
  for (var c = 0u; c < p.hd4; c++) { grad[qb + c] = dq[c] * p.scale; }
}

// dK[j, g], dV[j, g] summed over the query heads of group g and the queries that see key j,
// written at k's and v's places in `grad`. One invocation per (key token, kv head).
@compute @workgroup_size(64)
fn backward_kv(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= p.keys * p.KVH) { return; }
  let g = i % p.KVH;
  let jt = i / p.KVH;
  let seq = jt / p.Sk;
  let q0 = seq * p.Sq;
  let group = p.H / p.KVH;
  var kv: array<vec4f, MAXV>;
  var vv: array<vec4f, MAXV>;
  var dk: array<vec4f, MAXV>;
  var dv: array<vec4f, MAXV>;
  let kb = p.kOff + jt * p.kStride + g * p.hd4;
  let vb = p.vOff + jt * p.vStride + g * p.hd4;
  for (var c = 0u; c < p.hd4; c++) {
    kv[c] = k[kb + c];
    vv[c] = v[vb + c];
    dk[c] = vec4f(0.0);
    dv[c] = vec4f(0.0);
  }
  let lo = bounds[p.boundsOff + 2u * jt];
  let hi = bounds[p.boundsOff + 2u * jt + 1u];
  for (var h = g * group; h < (g + 1u) * group; h++) {
    for (var qi = lo; qi <= hi; qi++) {
      let t = q0 + qi;
      let qb = p.qOff + t * p.qStride + h * p.hd4;
      let ob = p.oOff + t * p.oStride + h * p.hd4;
      var s = 0.0;
      var dp = 0.0;
      for (var c = 0u; c < p.hd4; c++) {
        s += dot(q[qb + c], kv[c]);
        dp += dot(dout[ob + c], vv[c]);
      }
      let pr = exp(s * p.scale - lseIn[p.lseOff + t * p.H + h]);
      let ds = pr * (dp - delta[t * p.H + h]);
      for (var c = 0u; c < p.hd4; c++) {
        dv[c] += pr * dout[ob + c];
        dk[c] += ds * q[qb + c];
      }
    }
  }
  for (var c = 0u; c < p.hd4; c++) {
    grad[kb + c] = dk[c] * p.scale;
    grad[vb + c] = dv[c];
  }
}

// KV cache: copies the k and v columns of n new tokens' fused rows into the caches
// ([positions, kvHeads * head_dim]) at each token's absolute position.
struct AppendParams {
  n: u32, kv4: u32, stride4: u32, kCol4: u32,
  vCol4: u32, posOff: u32, srcOff4: u32, _p: u32,
}
@group(0) @binding(0) var<uniform> ap: AppendParams;
@group(0) @binding(1) var<storage, read> fused: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> cacheK: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> cacheV: array<vec4f>;
@group(0) @binding(4) var<storage, read> positions: array<u32>;

@compute @workgroup_size(64)
fn kv_append(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= ap.n * ap.kv4) { return; }
  let t = i / ap.kv4;
  let c = i % ap.kv4;
  let row = positions[ap.posOff + t];
  let src = ap.srcOff4 + t * ap.stride4;
  cacheK[row * ap.kv4 + c] = fused[src + ap.kCol4 + c];
  cacheV[row * ap.kv4 + c] = fused[src + ap.vCol4 + c];
}
