// Matmuls against an NF4 weight W [N_out, K_in] (QLoRA's 4-bit NormalFloat) with one f32 absmax
// scale per group of 64 inputs, dequantised inside the kernel so the base model stays ~7x smaller.
// Each weight row is padded to whole groups (qRow = 8 words, sRow = 1 scale per group); padding
// nibbles hold code 7, which is exactly 0.0, and the A reads of a tail word are guarded by K.
//   nt: C[m, o] = alpha * sum_k A[m, k] W[o, k]  (+ bias[o]) + beta * C   (forward)
//   nn: C[m, i] = alpha * sum_o A[m, o] W[o, i] + beta * C                (input gradient)
// with W[o, k] = NF4[nibble k of row o] * scale[o, k / 64], nibbles packed eight per u32, low first.

struct Params {
  M: u32, N: u32, K: u32, hasBias: u32,
  aOff: u32, lda: u32, qOff: u32, qRow: u32,
  cOff: u32, ldc: u32, scaleOff: u32, biasOff: u32,
  alpha: f32, beta: f32, sRow: u32, _p0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<u32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> scale: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;

// The NF4 code book (bitsandbytes / QLoRA): quantiles of N(0, 1) scaled to [-1, 1], with an exact 0.
var<private> NF4: array<f32, 16> = array<f32, 16>(
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0);

// Values of the low (first four) and high (last four) nibbles of a word.
fn lo(w: u32) -> vec4f {
  return vec4f(NF4[w & 15u], NF4[(w >> 4u) & 15u], NF4[(w >> 8u) & 15u], NF4[(w >> 12u) & 15u]);
}
fn hi(w: u32) -> vec4f { return lo(w >> 16u); }

fn store(m: u32, n: u32, v: f32) {
  let idx = p.cOff + m * p.ldc + n;
  var out = v;
  if (p.beta != 0.0) { out += p.beta * c[idx]; }
  c[idx] = out;
}

// A[row, k] for k possibly past K (the tail word of a row whose K is not a multiple of 8).
fn aTail(row: u32, k: u32) -> f32 {
  if (k < p.K) { return a[row + k]; }
  return 0.0;
}

// Each invocation: 4 rows of A against 4 weight rows; per group, 8 words of 8 nibbles, then the scale.
@compute @workgroup_size(8, 8, 1)
fn nt(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  var rows: array<u32, 4>;
  var cols: array<u32, 4>;
  var scs: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    rows[i] = p.aOff + min(m0 + i, p.M - 1u) * p.lda;
    let n = min(n0 + i, p.N - 1u);
    cols[i] = p.qOff + n * p.qRow;
    scs[i] = p.scaleOff + n * p.sRow;
  }
  let full = p.K / 8u;
  var acc: array<vec4f, 4>;
  for (var g = 0u; g < p.sRow; g++) {
    // Zeroed explicitly each group: with a bare declaration, Dawn on lavapipe kept the last group's sums.
    var part = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
    let end = min(8u * g + 8u, full);
    for (var wi = 8u * g; wi < end; wi++) {
      let w0 = q[cols[0] + wi]; let w1 = q[cols[1] + wi]; let w2 = q[cols[2] + wi]; let w3 = q[cols[3] + wi];
      let l0 = lo(w0); let l1 = lo(w1); let l2 = lo(w2); let l3 = lo(w3);
      let h0 = hi(w0); let h1 = hi(w1); let h2 = hi(w2); let h3 = hi(w3);
      for (var i = 0u; i < 4u; i++) {
        let b = rows[i] + 8u * wi;
        let x0 = vec4f(a[b], a[b + 1u], a[b + 2u], a[b + 3u]);
        let x1 = vec4f(a[b + 4u], a[b + 5u], a[b + 6u], a[b + 7u]);
        part[i] += vec4f(dot(x0, l0) + dot(x1, h0), dot(x0, l1) + dot(x1, h1), dot(x0, l2) + dot(x1, h2), dot(x0, l3) + dot(x1, h3));
      }
    }
    if (full < 8u * g + 8u && full * 8u < p.K) {
      // The last group holds a partial word.
      let w0 = q[cols[0] + full]; let w1 = q[cols[1] + full]; let w2 = q[cols[2] + full]; let w3 = q[cols[3] + full];
      for (var i = 0u; i < 4u; i++) {
        let b = rows[i];
        let k = 8u * full;
        let x0 = vec4f(aTail(b, k), aTail(b, k + 1u), aTail(b, k + 2u), aTail(b, k + 3u));
        let x1 = vec4f(aTail(b, k + 4u), aTail(b, k + 5u), aTail(b, k + 6u), aTail(b, k + 7u));
        part[i] += vec4f(dot(x0, lo(w0)) + dot(x1, hi(w0)), dot(x0, lo(w1)) + dot(x1, hi(w1)),
                         dot(x0, lo(w2)) + dot(x1, hi(w2)), dot(x0, lo(w3)) + dot(x1, hi(w3)));
      }
    }
    let s = vec4f(scale[scs[0] + g], scale[scs[1] + g], scale[scs[2] + g], scale[scs[3] + g]);
    for (var i = 0u; i < 4u; i++) { acc[i] += part[i] * s; }
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

// Each invocation: 4 rows of A against the 8 input columns of one weight word.
// Here K is the weight's output dimension and N its input dimension.
@compute @workgroup_size(8, 8, 1)
fn nn(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * 8u;
  let m0 = gid.y * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  var rows: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) { rows[i] = p.aOff + min(m0 + i, p.M - 1u) * p.lda; }
  let wi = n0 / 8u;
  let g = n0 / 64u;
  var accL: array<vec4f, 4>;
  var accH: array<vec4f, 4>;
  for (var k = 0u; k < p.K; k++) {
    let w = q[p.qOff + k * p.qRow + wi];
    let s = scale[p.scaleOff + k * p.sRow + g];
    let l = lo(w) * s;
    let h = hi(w) * s;
    for (var i = 0u; i < 4u; i++) {
      let x = a[rows[i] + k];
      accL[i] += x * l;
      accH[i] += x * h;
    }
  }
  for (var i = 0u; i < 4u; i++) {
    if (m0 + i >= p.M) { break; }
    for (var j = 0u; j < 8u; j++) {
      let n = n0 + j;
      if (n >= p.N) { break; }
      var v = accL[i][j & 3u];
      if (j >= 4u) { v = accH[i][j & 3u]; }
      store(m0 + i, n, p.alpha * v);
    }
  }
}
