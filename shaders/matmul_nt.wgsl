// C = alpha * A B^T + beta * C (+ bias) for A [M,K] and B [N,K] row-major (row strides lda, ldb
// multiples of 4) with K % 4 == 0:
// the nn.Linear forward. Both operands are read as vec4 along K, and each invocation forms a
// 4x4 block of C from 16 dot products, so every load is contiguous.

struct Params {
  M: u32, N: u32, K4: u32, hasBias: u32,
  aOff4: u32, sAb4: u32, bOff4: u32, sBb4: u32,
  cOff: u32, sCb: u32, biasOff: u32, ldc: u32,
  lda4: u32, ldb4: u32, alpha: f32, beta: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let aBase = p.aOff4 + gid.z * p.sAb4;
  let bBase = p.bOff4 + gid.z * p.sBb4;
  let ra = vec4u(
    aBase + min(m0, p.M - 1u) * p.lda4, aBase + min(m0 + 1u, p.M - 1u) * p.lda4,
    aBase + min(m0 + 2u, p.M - 1u) * p.lda4, aBase + min(m0 + 3u, p.M - 1u) * p.lda4);
  let rb = vec4u(
    bBase + min(n0, p.N - 1u) * p.ldb4, bBase + min(n0 + 1u, p.N - 1u) * p.ldb4,
    bBase + min(n0 + 2u, p.N - 1u) * p.ldb4, bBase + min(n0 + 3u, p.N - 1u) * p.ldb4);
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k = 0u; k < p.K4; k++) {
    let b0 = b[rb.x + k];
    let b1 = b[rb.y + k];
    let b2 = b[rb.z + k];
    let b3 = b[rb.w + k];
    let a0 = a[ra.x + k];
    acc0 += vec4f(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
    let a1 = a[ra.y + k];
    acc1 += vec4f(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
    let a2 = a[ra.z + k];
    acc2 += vec4f(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
    let a3 = a[ra.w + k];
    acc3 += vec4f(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
  }
  var bv = vec4f(0.0);
  if (p.hasBias != 0u) {
    for (var j = 0u; j < 4u; j++) {
      bv[j] = bias[p.biasOff + min(n0 + j, p.N - 1u)];
    }
  }
  let accs = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  let cBase = p.cOff + gid.z * p.sCb;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= p.N) { break; }
      let idx = cBase + m * p.ldc + n;
      var v = p.alpha * accs[i][j] + bv[j];
      if (p.beta != 0.0) { v += p.beta * c[idx]; }
      c[idx] = v;
    }
  }
}
