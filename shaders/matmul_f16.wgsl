// Matmuls against a half-precision weight W [N_out, K_in] (`--precision f16`: the base model in
// half the memory and bandwidth). Weights load as vec4<f16> and widen to f32; products and sums
// are f32, so only the weights' own rounding (2^-11 relative) separates this from the f32 path.
//   nt: C[m, o] = alpha * sum_k A[m, k] W[o, k]  (+ bias[o]) + beta * C   (forward)
//   nn: C[m, i] = alpha * sum_o A[m, o] W[o, i] + beta * C                (input gradient)
// K_in % 4 == 0; W's offset and row stride are in vec4<f16> units.
enable f16;

struct Params {
  M: u32, N: u32, K: u32, hasBias: u32,
  aOff: u32, lda: u32, wOff: u32, wRow: u32,
  cOff: u32, ldc: u32, biasOff: u32, _p0: u32,
  alpha: f32, beta: f32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<vec4h>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

fn store(m: u32, n: u32, v: f32) {
  let idx = p.cOff + m * p.ldc + n;
  var out = v;
  if (p.beta != 0.0) { out += p.beta * c[idx]; }
  c[idx] = out;
}

// Each invocation: 4 rows of A against 4 weight rows, K in steps of 4.
@compute @workgroup_size(8, 8, 1)
fn nt(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  var rows: array<u32, 4>;
  var cols: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    rows[i] = p.aOff + min(m0 + i, p.M - 1u) * p.lda;
    cols[i] = p.wOff + min(n0 + i, p.N - 1u) * p.wRow;
  }
  var acc: array<vec4f, 4>;
  for (var k4 = 0u; k4 < p.K / 4u; k4++) {
    let w0 = vec4f(w[cols[0] + k4]);
    let w1 = vec4f(w[cols[1] + k4]);
    let w2 = vec4f(w[cols[2] + k4]);
    let w3 = vec4f(w[cols[3] + k4]);
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
      var v = p.alpha * acc[i][j];
      if (p.hasBias != 0u) { v += bias[p.biasOff + n]; }
      store(m0 + i, n, v);
    }
  }
}

// Each invocation: 4 rows of A against 4 consecutive input columns (one vec4 of W per k).
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
    let wk = vec4f(w[p.wOff + k * p.wRow + n0 / 4u]);
    for (var i = 0u; i < 4u; i++) { acc[i] += a[rows[i] + k] * wk; }
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
