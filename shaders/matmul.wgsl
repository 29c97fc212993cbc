// Batched matmul with arbitrary strides: C = alpha * op(A) op(B) + beta * C (+ bias).
// Element (m,k) of op(A) is a[aOff + z*sAb + m*sAm + k*sAk]; strides express every
// transposition, so one kernel serves NN, NT, TN and TT. Register-blocked: each invocation
// computes a 4x4 block of C, reusing 4 loads of A and 4 of B for 16 multiply-adds.

struct Params {
  M: u32, N: u32, K: u32, hasBias: u32,
  sAm: u32, sAk: u32, sAb: u32, aOff: u32,
  sBk: u32, sBn: u32, sBb: u32, bOff: u32,
  ldc: u32, sCb: u32, cOff: u32, biasOff: u32,
  alpha: f32, beta: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let aBase = p.aOff + gid.z * p.sAb;
  let bBase = p.bOff + gid.z * p.sBb;
  // Rows and columns past the edge are clamped for loading and skipped when storing.
  let ra = vec4u(
    aBase + min(m0, p.M - 1u) * p.sAm, aBase + min(m0 + 1u, p.M - 1u) * p.sAm,
    aBase + min(m0 + 2u, p.M - 1u) * p.sAm, aBase + min(m0 + 3u, p.M - 1u) * p.sAm);
  let cb = vec4u(
    bBase + min(n0, p.N - 1u) * p.sBn, bBase + min(n0 + 1u, p.N - 1u) * p.sBn,
    bBase + min(n0 + 2u, p.N - 1u) * p.sBn, bBase + min(n0 + 3u, p.N - 1u) * p.sBn);
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  var ka = 0u;
  var kb = 0u;
  for (var k = 0u; k < p.K; k++) {
    let bv = vec4f(b[cb.x + kb], b[cb.y + kb], b[cb.z + kb], b[cb.w + kb]);
    acc0 = fma(vec4f(a[ra.x + ka]), bv, acc0);
    acc1 = fma(vec4f(a[ra.y + ka]), bv, acc1);
    acc2 = fma(vec4f(a[ra.z + ka]), bv, acc2);
    acc3 = fma(vec4f(a[ra.w + ka]), bv, acc3);
    ka += p.sAk;
    kb += p.sBk;
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
