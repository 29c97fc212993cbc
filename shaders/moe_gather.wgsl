// The sparse (gathered) expert path of a mixture-of-experts layer. `route` (moe_route.wgsl) has
// chosen each token's experts; `dispatch` lists, per expert, the tokens that chose it (in token
// order) with their combine weights. Each expert's matmuls then run on its own segment only: its
// rows are gathered from token-indexed inputs, and its outputs are scattered back by token with an
// add. Experts run one after another and a token appears once per expert, so every scatter-add is
// race-free and needs no atomics; the sum over a token's experts is in expert order, as the dense path.
// Rows beyond an expert's count are skipped by whole workgroups (the grid is sized for T rows).
// tbl (u32): [offsets E | counts E | token of each gathered row T·K | its combine weight T·K (f32 bits)].

struct Params {
  M: u32, N: u32, K: u32, e: u32,
  lda: u32, ldb: u32, ldc: u32, flags: u32,
  aOff: u32, bOff: u32, cOff: u32, E: u32,
  alpha: f32, beta: f32, TK: u32, R: u32,
}

// flags
const GATHER_A = 1u;   // A's row i is token rows[off + i] (else the segment-local row i)
const SCATTER_C = 2u;  // C's row i is token rows[off + i]
const TRANS_B = 4u;    // B is [N, K] (x·Wᵀ); else [K, N]
const GATHER_B = 8u;   // weight gradient: X's row i is token rows[off + i]

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> tbl: array<u32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

// dispatch bindings
@group(0) @binding(1) var<storage, read> sel: array<f32>;
@group(0) @binding(2) var<storage, read> comb: array<f32>;
@group(0) @binding(3) var<storage, read_write> metaOut: array<u32>;

// seg_scale_backward bindings: a = act, c = d(scaled) → d(act) in place
@group(0) @binding(3) var<storage, read_write> dcomb: array<f32>;

var<workgroup> ta: array<f32, 256>;
var<workgroup> tb: array<f32, 256>;
var<workgroup> segCount: u32;
var<workgroup> counts: array<u32, 256>;
var<workgroup> offsets: array<u32, 256>;

fn token(off: u32, i: u32) -> u32 { return tbl[2u * p.E + off + i]; }

fn row(off: u32, i: u32, gather: bool) -> u32 {
  if (gather) { return token(off, i); }
  return i;
}

// One workgroup; invocation e counts expert e's tokens, then writes its segment.
@compute @workgroup_size(256)
fn dispatch(@builtin(local_invocation_id) lid: vec3u) {
  let e = lid.x;
  let T = p.M;
  var n = 0u;
  if (e < p.E) {
    for (var t = 0u; t < T; t++) { if (sel[t * p.E + e] != 0.0) { n++; } }
  }
  counts[e] = n;
  workgroupBarrier();
  if (e == 0u) {
    var s = 0u;
    for (var x = 0u; x < p.E; x++) {
      offsets[x] = s;
      s += counts[x];
    }
  }
  workgroupBarrier();
  if (e >= p.E) { return; }
  let off = offsets[e];
  metaOut[e] = off;
  metaOut[p.E + e] = n;
  var j = 0u;
  for (var t = 0u; t < T; t++) {
    if (sel[t * p.E + e] != 0.0) {
      metaOut[2u * p.E + off + j] = t;
      metaOut[2u * p.E + p.TK + off + j] = bitcast<u32>(comb[t * p.R + e]);
      j++;
    }
  }
}

// C[row_c(i), n] = alpha · Σ_k A[row_a(i), k] · B(k, n) + beta · C, for the segment's rows i < count.
@compute @workgroup_size(16, 16)
fn seg_mm(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  if (lid.x == 0u && lid.y == 0u) { segCount = tbl[p.E + p.e]; }
  let count = workgroupUniformLoad(&segCount);
  let row0 = wg.y * 16u;
  if (row0 >= count) { return; }
  let off = tbl[p.e];
  let n0 = wg.x * 16u;
  let gatherA = (p.flags & GATHER_A) != 0u;
  let transB = (p.flags & TRANS_B) != 0u;
  var acc = 0.0;
  for (var k0 = 0u; k0 < p.K; k0 += 16u) {
    let ai = row0 + lid.y;
    let ak = k0 + lid.x;
    var av = 0.0;
    if (ai < count && ak < p.K) { av = a[p.aOff + row(off, ai, gatherA) * p.lda + ak]; }
    ta[lid.y * 16u + lid.x] = av;
    // tb[kk][nn]: thread (x = nn, y = kk)
    let bk = k0 + lid.y;
    let bn = n0 + lid.x;
    var bv = 0.0;
    if (bk < p.K && bn < p.N) {
      if (transB) { bv = b[p.bOff + bn * p.ldb + bk]; } else { bv = b[p.bOff + bk * p.ldb + bn]; }
    }
    tb[lid.y * 16u + lid.x] = bv;
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) { acc += ta[lid.y * 16u + kk] * tb[kk * 16u + lid.x]; }
    workgroupBarrier();
  }
  let i = row0 + lid.y;
  let n = n0 + lid.x;
  if (i >= count || n >= p.N) { return; }
  let at = p.cOff + row(off, i, (p.flags & SCATTER_C) != 0u) * p.ldc + n;
  var v = p.alpha * acc;
  if (p.beta != 0.0) { v += p.beta * c[at]; }
  c[at] = v;
}

// Weight gradient over the segment: C[n, k] = alpha · Σ_{i<count} A[row_a(i), n] · X[row_x(i), k] + beta · C
// (X bound as b, ldb its row stride). The sum runs over the rows in order: deterministic.
@compute @workgroup_size(16, 16)
fn seg_wgrad(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  if (lid.x == 0u && lid.y == 0u) { segCount = tbl[p.E + p.e]; }
  let count = workgroupUniformLoad(&segCount);
  let off = tbl[p.e];
  let n0 = wg.y * 16u;
  let k0 = wg.x * 16u;
  let gatherA = (p.flags & GATHER_A) != 0u;
  let gatherX = (p.flags & GATHER_B) != 0u;
  var acc = 0.0;
  for (var i0 = 0u; i0 < count; i0 += 16u) {
    let i = i0 + lid.y;
    var av = 0.0;
    var xv = 0.0;
    if (i < count) {
      if (n0 + lid.x < p.N) { av = a[p.aOff + row(off, i, gatherA) * p.lda + n0 + lid.x]; }
      if (k0 + lid.x < p.K) { xv = b[p.bOff + row(off, i, gatherX) * p.ldb + k0 + lid.x]; }
    }
    ta[lid.y * 16u + lid.x] = av;
    tb[lid.y * 16u + lid.x] = xv;
    workgroupBarrier();
    for (var ii = 0u; ii < 16u; ii++) { acc += ta[ii * 16u + lid.y] * tb[ii * 16u + lid.x]; }
    workgroupBarrier();
  }
  let n = n0 + lid.y;
  let k = k0 + lid.x;
  if (n >= p.N || k >= p.K) { return; }
  let at = p.cOff + n * p.ldc + k;
  var v = p.alpha * acc;
  if (p.beta != 0.0) { v += p.beta * c[at]; }
  c[at] = v;
}

fn weight(i: u32) -> f32 { return bitcast<f32>(tbl[2u * p.E + p.TK + tbl[p.e] + i]); }

// scaled[i, :] = w_i · act[i, :] over the segment (N = width, ldc its row stride). a = act, c = scaled.
@compute @workgroup_size(256)
fn seg_scale(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  let i = idx / p.N;
  if (i >= tbl[p.E + p.e]) { return; }
  let col = idx % p.N;
  c[p.cOff + i * p.ldc + col] = weight(i) * a[p.aOff + i * p.ldc + col];
}

// One invocation per segment row: on entry c = d(scaled); writes d(comb)[token, e] = Σ c · act and
// leaves c = w_i · c = d(act).
@compute @workgroup_size(256)
fn seg_scale_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  let off = tbl[p.e];
  if (i >= tbl[p.E + p.e]) { return; }
  let w = weight(i);
  var dc = 0.0;
  for (var col = 0u; col < p.N; col++) {
    let at = p.cOff + i * p.ldc + col;
    dc += c[at] * a[p.aOff + i * p.ldc + col];
    c[at] = w * c[at];
  }
  dcomb[token(off, i) * p.R + p.e] = dc;
}
