// Register-blocked workgroup-tile matmul: C = alpha * op(A) op(B) + beta * C (+ bias), with the
// strides of matmul.wgsl (every transposition, batches, views). A workgroup of (BN/TN)x(BM/TM)
// invocations computes a BMxBN tile of C, each invocation a TMxTN block held in registers, from
// BK-deep slices of A (stored transposed, [k][m]) and B ([k][n]) staged in workgroup memory.
// Operands bind as vec4 arrays: a side contiguous along the loaded dimension (mode 1 or 2, set by
// the wrapper when strides and offsets are multiples of 4) loads four elements at once; mode 0
// reads single elements. The tile constants below are replaced per configuration (matmul-configs.ts).

struct Params {
  M: u32, N: u32, K: u32, hasBias: u32,
  sAm: u32, sAk: u32, sAb: u32, aOff: u32,
  sBk: u32, sBn: u32, sBb: u32, bOff: u32,
  ldc: u32, sCb: u32, cOff: u32, biasOff: u32,
  alpha: f32, beta: f32,
  // A: 0 scalar, 1 vec4 along k (row-major), 2 vec4 along m (transposed). B: 1 along n, 2 along k.
  modeA: u32, modeB: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

const BM = 128u;
const BN = 128u;
const BK = 8u;
const TM = 8u;
const TN = 8u;
const TX = BN / TN;
const TY = BM / TM;
const NT = TX * TY;

var<workgroup> As: array<vec4f, BK * BM / 4u>;
var<workgroup> Bs: array<vec4f, BK * BN / 4u>;

fn lda(i: u32) -> f32 { return a[i >> 2u][i & 3u]; }
fn ldb(i: u32) -> f32 { return b[i >> 2u][i & 3u]; }
fn putA(k: u32, m: u32, v: f32) { let i = k * BM + m; As[i >> 2u][i & 3u] = v; }
fn putB(k: u32, n: u32, v: f32) { let i = k * BN + n; Bs[i >> 2u][i & 3u] = v; }
fn below(i: u32, end: u32) -> vec4<bool> { return vec4u(i, i + 1u, i + 2u, i + 3u) < vec4u(end); }

fn loadA(aBase: u32, m0: u32, k0: u32, li: u32) {
  if (p.modeA == 1u) {
    for (var e = li; e < BM * BK / 4u; e += NT) {
      let mm = e / (BK / 4u);
      let kq = (e % (BK / 4u)) * 4u;
      let m = m0 + mm;
      let k = k0 + kq;
      var v = vec4f(0.0);
      if (m < p.M && k < p.K) { v = select(vec4f(0.0), a[(aBase + m * p.sAm + k) >> 2u], below(k, p.K)); }
      putA(kq, mm, v.x); putA(kq + 1u, mm, v.y); putA(kq + 2u, mm, v.z); putA(kq + 3u, mm, v.w);
    }
  } else if (p.modeA == 2u) {
    for (var e = li; e < BM * BK / 4u; e += NT) {
      let kk = e / (BM / 4u);
      let mq = (e % (BM / 4u)) * 4u;
      let m = m0 + mq;
      let k = k0 + kk;
      var v = vec4f(0.0);
      if (m < p.M && k < p.K) { v = select(vec4f(0.0), a[(aBase + k * p.sAk + m) >> 2u], below(m, p.M)); }
      As[(kk * BM + mq) >> 2u] = v;
    }
  } else {
    for (var e = li; e < BM * BK; e += NT) {
      let kk = e / BM;
      let mm = e % BM;
      let m = m0 + mm;
      let k = k0 + kk;
      var v = 0.0;
      if (m < p.M && k < p.K) { v = lda(aBase + m * p.sAm + k * p.sAk); }
      putA(kk, mm, v);
    }
  }
}

fn loadB(bBase: u32, n0: u32, k0: u32, li: u32) {
  if (p.modeB == 1u) {
    for (var e = li; e < BN * BK / 4u; e += NT) {
      let kk = e / (BN / 4u);
      let nq = (e % (BN / 4u)) * 4u;
      let n = n0 + nq;
      let k = k0 + kk;
      var v = vec4f(0.0);
      if (n < p.N && k < p.K) { v = select(vec4f(0.0), b[(bBase + k * p.sBk + n) >> 2u], below(n, p.N)); }
      Bs[(kk * BN + nq) >> 2u] = v;
    }
  } else if (p.modeB == 2u) {
    for (var e = li; e < BN * BK / 4u; e += NT) {
      let nn = e / (BK / 4u);
      let kq = (e % (BK / 4u)) * 4u;
      let n = n0 + nn;
      let k = k0 + kq;
      var v = vec4f(0.0);
      if (n < p.N && k < p.K) { v = select(vec4f(0.0), b[(bBase + n * p.sBn + k) >> 2u], below(k, p.K)); }
      putB(kq, nn, v.x); putB(kq + 1u, nn, v.y); putB(kq + 2u, nn, v.z); putB(kq + 3u, nn, v.w);
    }
  } else {
    for (var e = li; e < BN * BK; e += NT) {
      let kk = e / BN;
      let nn = e % BN;
      let n = n0 + nn;
      let k = k0 + kk;
      var v = 0.0;
      if (n < p.N && k < p.K) { v = ldb(bBase + k * p.sBk + n * p.sBn); }
      putB(kk, nn, v);
    }
  }
}

@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let aBase = p.aOff + wid.z * p.sAb;
  let bBase = p.bOff + wid.z * p.sBb;
  var acc: array<vec4f, TM * TN / 4u>;
  var ar: array<vec4f, TM / 4u>;
  var br: array<vec4f, TN / 4u>;
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    loadA(aBase, m0, k0, li);
    loadB(bBase, n0, k0, li);
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      for (var i = 0u; i < TM / 4u; i++) { ar[i] = As[(kk * BM + lid.y * TM) / 4u + i]; }
      for (var j = 0u; j < TN / 4u; j++) { br[j] = Bs[(kk * BN + lid.x * TN) / 4u + j]; }
      for (var i = 0u; i < TM; i++) {
        let av = vec4f(ar[i / 4u][i % 4u]);
        for (var j = 0u; j < TN / 4u; j++) { acc[i * (TN / 4u) + j] = fma(av, br[j], acc[i * (TN / 4u) + j]); }
      }
    }
    workgroupBarrier();
  }
  let cBase = p.cOff + wid.z * p.sCb;
  for (var i = 0u; i < TM; i++) {
    let m = m0 + lid.y * TM + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < TN; j++) {
      let n = n0 + lid.x * TN + j;
      if (n >= p.N) { break; }
      let idx = cBase + m * p.ldc + n;
      var v = p.alpha * acc[i * (TN / 4u) + j / 4u][j % 4u];
      if (p.hasBias != 0u) { v += bias[p.biasOff + n]; }
      if (p.beta != 0.0) { v += p.beta * c[idx]; }
      c[idx] = v;
    }
  }
}
