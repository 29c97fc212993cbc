// Tiled flash attention (FlashAttention-2 layout): a workgroup owns a block of WG queries (forward,
// dQ) or WG keys (dK, dV) of one sequence and one head, one row per invocation, and streams the
// other side through workgroup memory TILE rows at a time, so each streamed row is read from
// global memory once per workgroup instead of once per invocation. Only tiles inside the block's
// union of visible ranges are loaded (fully masked tiles are skipped); each invocation then masks
// with its own range. dQ and dK/dV are separate kernels, so nothing is accumulated across
// workgroups (WGSL has no float atomics).
//
// Layout and bounds as in attention.wgsl: vec4 units, query t sees keys [bounds[2t], bounds[2t+1]]
// of its sequence and key j is seen by queries [bounds[2j], bounds[2j+1]] (the key-side bounds).
// HD4 (head_dim / 4) and TILE (streamed rows per tile, sized to maxComputeWorkgroupStorageSize)
// are pipeline constants. Q, K and V are read (and dQ, dK written) through the functions of one
// of two files that attention-tiled.ts appends to this one: attention_tiled_qkv.wgsl (three views,
// as they are) or attention_tiled_rope.wgsl (one fused q|k|v buffer, RoPE applied as rows load).

struct Params {
  T: u32, H: u32, KVH: u32, hd4: u32,
  Sq: u32, Sk: u32, scale: f32, boundsOff: u32,
  qOff: u32, qStride: u32, kOff: u32, kStride: u32,
  vOff: u32, vStride: u32, oOff: u32, oStride: u32,
  lseOff: u32, keys: u32, posOff: u32, maxPos: u32,
  tableOff4: u32, _p1: u32, _p2: u32, _p3: u32,
}

const MAXV = 32u; // per-invocation rows of vec4: head_dim up to 128 (attention-tiled.ts sets it per variant)
const WG = 64u;
const NEG = -3.0e38;
override HD4: u32 = 16u;
override TILE: u32 = 16u;

@group(0) @binding(0) var<uniform> p: Params;
// bindings 1-3: q, k, v (or q|k|v, positions, RoPE table) in the appended file
// forward
@group(0) @binding(4) var<storage, read_write> o: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read> bounds: array<u32>;
// backward
@group(0) @binding(4) var<storage, read> dout: array<vec4f>;
@group(0) @binding(5) var<storage, read> lseIn: array<f32>;
@group(0) @binding(7) var<storage, read> delta: array<f32>;
@group(0) @binding(8) var<storage, read_write> grad: array<vec4f>;

// Two streamed operands: K and V (forward, dQ) or Q and dO (dK, dV).
var<workgroup> tileA: array<vec4f, TILE * HD4>;
var<workgroup> tileB: array<vec4f, TILE * HD4>;
var<workgroup> tileL: array<f32, TILE>;
var<workgroup> tileD: array<f32, TILE>;
var<workgroup> spanLo: atomic<u32>;
var<workgroup> spanHi: atomic<u32>;
var<workgroup> span: vec2u;

/** The workgroup's block: (sequence, block within it, head), heads fastest so GQA neighbours share rows. */
fn block(wid: vec3u, nwg: vec3u, rows: u32, heads: u32) -> vec4u {
  let w = wid.x + wid.y * nwg.x;
  let nb = (rows + WG - 1u) / WG;
  let h = w % heads;
  let rest = w / heads;
  return vec4u(rest / nb, rest % nb, h, 0u);
}

/** Union of the block's visible ranges [lo, hi] (empty when lo > hi); call in uniform control flow. */
fn blockSpan(lid: u32, valid: bool, lo: u32, hi: u32) -> vec2u {
  if (lid == 0u) {
    atomicStore(&spanLo, 0xffffffffu);
    atomicStore(&spanHi, 0u);
  }
  workgroupBarrier();
  if (valid && lo <= hi) {
    atomicMin(&spanLo, lo);
    atomicMax(&spanHi, hi);
  }
  workgroupBarrier();
  if (lid == 0u) { span = vec2u(atomicLoad(&spanLo), atomicLoad(&spanHi)); }
  return workgroupUniformLoad(&span);
}

@compute @workgroup_size(WG)
fn forward(
  @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32,
) {
  let nSeq = p.T / p.Sq;
  let b = block(wid, nwg, p.Sq, p.H);
  if (b.x >= nSeq) { return; }
  let h = b.z;
  let g = h / (p.H / p.KVH);
  let qi = b.y * WG + lid;
  let valid = qi < p.Sq;
  let t = b.x * p.Sq + min(qi, p.Sq - 1u);
  let kv0 = b.x * p.Sk;
  var qv: array<vec4f, MAXV>;
  var acc: array<vec4f, MAXV>;
  loadQuery(&qv, t, h);
  for (var c = 0u; c < HD4; c++) { acc[c] = vec4f(0.0); }
  let lo = bounds[p.boundsOff + 2u * t];
  let hi = bounds[p.boundsOff + 2u * t + 1u];
  let r = blockSpan(lid, valid, lo, hi);
  let end = select(0u, hi + 1u, valid); // rows past the block's end take part in loads only
  var m = NEG;
  var l = 0.0;
  for (var j0 = r.x; j0 <= r.y; j0 += TILE) {
    let n = min(TILE, r.y + 1u - j0);
    loadKeyValueTiles(lid, kv0 + j0, n, g);
    workgroupBarrier();
    let jEnd = min(end, j0 + n);
    for (var j = max(lo, j0); j < jEnd; j++) {
      let row = (j - j0) * HD4;
      var s = 0.0;
      for (var c = 0u; c < HD4; c++) { s += dot(qv[c], tileA[row + c]); }
      let mNew = max(m, s);
      let corr = exp(m - mNew);
      let e = exp(s - mNew);
      l = l * corr + e;
      for (var c = 0u; c < HD4; c++) { acc[c] = acc[c] * corr + e * tileB[row + c]; }
      m = mNew;
    }
    workgroupBarrier();
  }
  if (!valid) { return; }
  let ob = p.oOff + t * p.oStride + h * HD4;
  let inv = select(0.0, 1.0 / l, l > 0.0);
  for (var c = 0u; c < HD4; c++) { o[ob + c] = acc[c] * inv; }
  lse[p.lseOff + t * p.H + h] = m + log(l);
}

// dQ[t, h] = scale * sum_j P_tj (dP_tj - delta_t) k_j, written at q's place in `grad`.
@compute @workgroup_size(WG)
fn backward_q(
  @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32,
) {
  let nSeq = p.T / p.Sq;
  let b = block(wid, nwg, p.Sq, p.H);
  if (b.x >= nSeq) { return; }
  let h = b.z;
  let g = h / (p.H / p.KVH);
  let qi = b.y * WG + lid;
  let valid = qi < p.Sq;
  let t = b.x * p.Sq + min(qi, p.Sq - 1u);
  let kv0 = b.x * p.Sk;
  var qv: array<vec4f, MAXV>;
  var dov: array<vec4f, MAXV>;
  var dq: array<vec4f, MAXV>;
  let ob = p.oOff + t * p.oStride + h * HD4;
  loadQuery(&qv, t, h);
  for (var c = 0u; c < HD4; c++) {
    dov[c] = dout[ob + c];
    dq[c] = vec4f(0.0);
  }
  let L = lseIn[p.lseOff + t * p.H + h];
  let D = delta[t * p.H + h];
  let lo = bounds[p.boundsOff + 2u * t];
  let hi = bounds[p.boundsOff + 2u * t + 1u];
  let r = blockSpan(lid, valid, lo, hi);
  let end = select(0u, hi + 1u, valid); // rows past the block's end take part in loads only
  for (var j0 = r.x; j0 <= r.y; j0 += TILE) {
    let n = min(TILE, r.y + 1u - j0);
    loadKeyValueTiles(lid, kv0 + j0, n, g);
    workgroupBarrier();
    let jEnd = min(end, j0 + n);
    for (var j = max(lo, j0); j < jEnd; j++) {
      let row = (j - j0) * HD4;
      var s = 0.0;
      var dp = 0.0;
      for (var c = 0u; c < HD4; c++) {
        s += dot(qv[c], tileA[row + c]);
        dp += dot(dov[c], tileB[row + c]);
      }
      let ds = exp(s - L) * (dp - D);
      for (var c = 0u; c < HD4; c++) { dq[c] += ds * tileA[row + c]; }
    }
    workgroupBarrier();
  }
  if (!valid) { return; }
  storeQueryKeyGrad(&dq, p.qOff + t * p.qStride + h * HD4, t);
}

// dK[j, g], dV[j, g] summed over the query heads of group g and the queries that see key j,
// written at k's and v's places in `grad`. Q, dO, lse and delta of each query tile are shared.
@compute @workgroup_size(WG)
fn backward_kv(
  @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32,
) {
  let nSeq = p.keys / p.Sk;
  let b = block(wid, nwg, p.Sk, p.KVH);
  if (b.x >= nSeq) { return; }
  let g = b.z;
  let j = b.y * WG + lid;
  let valid = j < p.Sk;
  let jt = b.x * p.Sk + min(j, p.Sk - 1u);
  let q0 = b.x * p.Sq;
  let group = p.H / p.KVH;
  var kv: array<vec4f, MAXV>;
  var vv: array<vec4f, MAXV>;
  var dk: array<vec4f, MAXV>;
  var dv: array<vec4f, MAXV>;
  let kb = p.kOff + jt * p.kStride + g * HD4;
  let vb = p.vOff + jt * p.vStride + g * HD4;
  loadKey(&kv, jt, g);
  for (var c = 0u; c < HD4; c++) {
    vv[c] = valueAt(vb + c);
    dk[c] = vec4f(0.0);
    dv[c] = vec4f(0.0);
  }
  let lo = bounds[p.boundsOff + 2u * jt];
  let hi = bounds[p.boundsOff + 2u * jt + 1u];
  let r = blockSpan(lid, valid, lo, hi);
  let end = select(0u, hi + 1u, valid); // rows past the block's end take part in loads only
  for (var h = g * group; h < (g + 1u) * group; h++) {
    for (var i0 = r.x; i0 <= r.y; i0 += TILE) {
      let n = min(TILE, r.y + 1u - i0);
      loadQueryGradTiles(lid, q0 + i0, n, h);
      for (var e = lid; e < n; e += WG) {
        let t = q0 + i0 + e;
        tileL[e] = lseIn[p.lseOff + t * p.H + h];
        tileD[e] = delta[t * p.H + h];
      }
      workgroupBarrier();
      let iEnd = min(end, i0 + n);
      for (var i = max(lo, i0); i < iEnd; i++) {
        let row = (i - i0) * HD4;
        var s = 0.0;
        var dp = 0.0;
        for (var c = 0u; c < HD4; c++) {
          s += dot(tileA[row + c], kv[c]);
          dp += dot(tileB[row + c], vv[c]);
        }
        let pr = exp(s - tileL[i - i0]);
        let ds = pr * (dp - tileD[i - i0]);
        for (var c = 0u; c < HD4; c++) {
          dv[c] += pr * tileB[row + c];
          dk[c] += ds * tileA[row + c];
        }
      }
      workgroupBarrier();
    }
  }
  if (!valid) { return; }
  storeQueryKeyGrad(&dk, kb, jt);
  for (var c = 0u; c < HD4; c++) { grad[vb + c] = dv[c]; }
}
