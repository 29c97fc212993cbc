// Low-rank epilogue appended to a matmul shader (fused LoRA): each stored C[m, n] gains
// scale * sum over the terms whose column range holds n of U_t[m, :] . V_t[:, n - col_t].
// Forward: U = x A^T [T, r], V = B [out, r]; input gradient: U = dY_t B [T, r], V = A [r, in].
// The wrapper (matmul-lowrank.ts) splices this in and sets LR_BINDING to the shader's next binding.

struct LowRank {
  count: u32, r: u32, scale: f32, _p0: u32,
  // Per term: first column, end column, U's offset, U's row stride.
  cols: array<vec4u, 4>,
  // Per term: V's offset, V's stride along n, V's stride along k.
  vs: array<vec4u, 4>,
}

@group(0) @binding(LR_BINDING) var<uniform> lr: LowRank;
@group(0) @binding(LR_BINDING_U) var<storage, read> lrU: array<f32>;
@group(0) @binding(LR_BINDING_V) var<storage, read> lrV: array<f32>;

fn lowRank(m: u32, n: u32) -> f32 {
  var sum = 0.0;
  for (var t = 0u; t < lr.count; t++) {
    let c = lr.cols[t];
    if (n < c.x || n >= c.y) { continue; }
    let s = lr.vs[t];
    let u = c.z + m * c.w;
    let v = s.x + (n - c.x) * s.y;
    var acc = 0.0;
    for (var k = 0u; k < lr.r; k++) { acc = fma(lrU[u + k], lrV[v + k * s.z], acc); }
    sum += acc;
  }
  return lr.scale * sum;
}
