// The sparse (gathered) expert path of a mixture-of-experts layer. `route` (moe_route.wgsl) has
// chosen each token's experts; `dispatch` lists, per expert, the tokens that chose it (in token
// order) with their combine weights. Each expert's matmuls then run on its own segment only: its
// rows are gathered from token-indexed inputs, and its outputs are scattered back by token with an
// add. Experts run one after another and a token appears once per expert, so every scatter-add is
// race-free and needs no atomics; the sum over a token's experts is in expert order, as the dense path.
// Rows beyond an expert's count return at once (the grids are sized for T rows).
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

// Both segment matmuls are barrier-free: an invocation owns 4 rows of one output column and reads
// its operands straight from memory (a software adapter runs barriers slowly; a GPU's caches serve
// the shared reads). Grid: x = column blocks of 64, y = blocks of 4 rows (T rows in all).

// C[row_c(i), n] = alpha · Σ_k A[row_a(i), k] · B(k, n) + beta · C, for the segment's rows i < count.
@compute @workgroup_size(64)
fn seg_mm(@builtin(global_invocation_id) gid: vec3u) {
  let count = tbl[p.E + p.e];
  let i0 = gid.y * 4u;
  let n = gid.x;
  if (i0 >= count || n >= p.N) { return; }
  let off = tbl[p.e];
  let gatherA = (p.flags & GATHER_A) != 0u;
  let rows = min(4u, count - i0);
  var ra: array<u32, 4>;
  for (var j = 0u; j < 4u; j++) { ra[j] = p.aOff + row(off, i0 + min(j, rows - 1u), gatherA) * p.lda; }
  var bAt = p.bOff + n;
  var bStep = p.ldb;
  if ((p.flags & TRANS_B) != 0u) {
    bAt = p.bOff + n * p.ldb;
    bStep = 1u;
  }
  var acc = vec4f(0.0);
  for (var k = 0u; k < p.K; k++) {
    let bv = b[bAt + k * bStep];
    acc += bv * vec4f(a[ra[0] + k], a[ra[1] + k], a[ra[2] + k], a[ra[3] + k]);
  }
  let scatter = (p.flags & SCATTER_C) != 0u;
  for (var j = 0u; j < rows; j++) {
    let at = p.cOff + row(off, i0 + j, scatter) * p.ldc + n;
    var v = p.alpha * acc[j];
    if (p.beta != 0.0) { v += p.beta * c[at]; }
    c[at] = v;
  }
}

// Weight gradient over the segment: C[n, k] = alpha · Σ_{i<count} A[row_a(i), n] · X[row_x(i), k] + beta · C
// (X bound as b, ldb its row stride); an invocation owns 4 rows n of column k. The sum runs over the
// rows in order: deterministic. Grid: x = blocks of 64 columns k, y = blocks of 4 rows n.
@compute @workgroup_size(64)
fn seg_wgrad(@builtin(global_invocation_id) gid: vec3u) {
  let count = tbl[p.E + p.e];
  let off = tbl[p.e];
  let n0 = gid.y * 4u;
  let k = gid.x;
  if (n0 >= p.N || k >= p.K) { return; }
  let gatherA = (p.flags & GATHER_A) != 0u;
  let gatherX = (p.flags & GATHER_B) != 0u;
  let ns = min(4u, p.N - n0);
  let last = n0 + ns - 1u;
  var acc = vec4f(0.0);
  for (var i = 0u; i < count; i++) {
    let aRow = p.aOff + row(off, i, gatherA) * p.lda;
    let xv = b[p.bOff + row(off, i, gatherX) * p.ldb + k];
    acc += xv * vec4f(a[aRow + n0], a[aRow + min(n0 + 1u, last)], a[aRow + min(n0 + 2u, last)], a[aRow + min(n0 + 3u, last)]);
  }
  for (var j = 0u; j < ns; j++) {
    let at = p.cOff + (n0 + j) * p.ldc + k;
    var v = p.alpha * acc[j];
    if (p.beta != 0.0) { v += p.beta * c[at]; }
    c[at] = v;
  }
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
