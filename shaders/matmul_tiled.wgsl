// Workgroup-tiled matmul for GPUs: a 64x64 tile of C per workgroup of 16x16 invocations, each
// computing 4x4 outputs from 16-deep slices of A and B staged in workgroup memory. Same
// arguments and strides as matmul.wgsl (every transposition, batches, bias, alpha/beta).
// CPU drivers run the register-blocked kernel instead (tiles and barriers are slow there).

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

const TILE = 64u;
const KT = 16u;
// Rows padded by one column against bank conflicts.
var<workgroup> As: array<array<f32, 65>, 16>;
var<workgroup> Bs: array<array<f32, 65>, 16>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let m0 = wid.y * TILE;
  let n0 = wid.x * TILE;
  let aBase = p.aOff + wid.z * p.sAb;
  let bBase = p.bOff + wid.z * p.sBb;
  var acc: array<vec4f, 4>;
  let tiles = (p.K + KT - 1u) / KT;
  for (var t = 0u; t < tiles; t++) {
    let k0 = t * KT;
    // 256 invocations load 1024 elements of each tile, 4 apiece; outside the matrix reads 0.
    for (var r = 0u; r < 4u; r++) {
      let e = li + r * 256u;
      let kk = e / TILE;
      let mm = e % TILE;
      let m = m0 + mm;
      let k = k0 + kk;
      As[kk][mm] = select(0.0, a[aBase + min(m, p.M - 1u) * p.sAm + min(k, p.K - 1u) * p.sAk], m < p.M && k < p.K);
      let n = n0 + mm;
      Bs[kk][mm] = select(0.0, b[bBase + min(k, p.K - 1u) * p.sBk + min(n, p.N - 1u) * p.sBn], n < p.N && k < p.K);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < KT; kk++) {
      let bv = vec4f(Bs[kk][lid.x * 4u], Bs[kk][lid.x * 4u + 1u], Bs[kk][lid.x * 4u + 2u], Bs[kk][lid.x * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) {
        acc[i] = fma(vec4f(As[kk][lid.y * 4u + i]), bv, acc[i]);
      }
    }
    workgroupBarrier();
  }
  let cBase = p.cOff + wid.z * p.sCb;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + lid.y * 4u + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + lid.x * 4u + j;
      if (n >= p.N) { break; }
      let idx = cBase + m * p.ldc + n;
      var v = p.alpha * acc[i][j];
      if (p.hasBias != 0u) { v += bias[p.biasOff + n]; }
      if (p.beta != 0.0) { v += p.beta * c[idx]; }
      c[idx] = v;
    }
  }
}
