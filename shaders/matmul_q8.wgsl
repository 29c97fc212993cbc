// Matmuls against an int8 weight W [N_out, K_in] with one f32 scale per output row (per-channel
// absmax quantisation), dequantised inside the kernel so the base model stays 4x smaller.
// Weights are packed four to a u32 along the input dimension (K_in % 4 == 0).
//   nt: C[m, o] = alpha * scale[o] * sum_k A[m, k] q[o, k]  (+ bias[o]) + beta * C   (forward)
//   nn: C[m, i] = alpha * sum_o A[m, o] scale[o] q[o, i] + beta * C                (input gradient)

struct Params {
  M: u32, N: u32, K: u32, hasBias: u32,
  aOff: u32, lda: u32, qOff: u32, qRow: u32,
  cOff: u32, ldc: u32, scaleOff: u32, biasOff: u32,
  alpha: f32, beta: f32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<u32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> scale: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;

// The four signed bytes of a word, low byte first.
fn unpack(w: u32) -> vec4f {
  return vec4f(
    f32(bitcast<i32>(w << 24u) >> 24u), f32(bitcast<i32>(w << 16u) >> 24u),
    f32(bitcast<i32>(w << 8u) >> 24u), f32(bitcast<i32>(w) >> 24u));
}

fn store(m: u32, n: u32, v: f32) {
  let idx = p.cOff + m * p.ldc + n;
  var out = v;
  if (p.beta != 0.0) { out += p.beta * c[idx]; }
  c[idx] = out;
}

// Each invocation: 4 rows of A against 4 weight rows, K in steps of 4 (one word per weight row).
@compute @workgroup_size(8, 8, 1)
fn nt(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  var rows: array<u32, 4>;
  var cols: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    rows[i] = p.aOff + min(m0 + i, p.M - 1u) * p.lda;
    cols[i] = p.qOff + min(n0 + i, p.N - 1u) * p.qRow;
  }
  var acc: array<vec4f, 4>;
  for (var k4 = 0u; k4 < p.K / 4u; k4++) {
    let w0 = unpack(q[cols[0] + k4]);
    let w1 = unpack(q[cols[1] + k4]);
    let w2 = unpack(q[cols[2] + k4]);
    let w3 = unpack(q[cols[3] + k4]);
    for (var i = 0u; i < 4u; i++) {
      let base = rows[i] + 4u * k4;
      let av = vec4f(a[base], a[base + 1u], a[base + 2u], a[base + 3u]);
      acc[i] += vec4f(dot(av, w0), dot(av, w1), dot(av, w2), dot(av, w3));
    }
  }
  for (var i = 0u; i < 4u; i++) {
    if (m0 + i >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= p.N) { break; }
      var v = p.alpha * scale[p.scaleOff + n] * acc[i][j];
      if (p.hasBias != 0u) { v += bias[p.biasOff + n]; }
      store(m0 + i, n, v);
    }
  }
}

// Each invocation: 4 rows of A against 4 consecutive input columns (one weight word per k).
// Here K is the weight's output dimension and N its input dimension.
@compute @workgroup_size(8, 8, 1)
fn nn(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  var rows: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) { rows[i] = p.aOff + min(m0 + i, p.M - 1u) * p.lda; }
  var acc: array<vec4f, 4>;
  for (var k = 0u; k < p.K; k++) {
    let w = unpack(q[p.qOff + k * p.qRow + n0 / 4u]) * scale[p.scaleOff + k];
    for (var i = 0u; i < 4u; i++) { acc[i] += a[rows[i] + k] * w; }
  }
  for (var i = 0u; i < 4u; i++) {
    if (m0 + i >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= p.N) { break; }
      store(m0 + i, n, p.alpha * acc[i][j]);
    }
  }
}
