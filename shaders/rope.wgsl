// Rotary position embedding, split-half as in transformers (rotate_half), applied in place to
// `heads` heads of head_dim each, for tokens laid out as x[off + t*rowStride + h*headDim + d].
// cos/sin come from a table [positions, headDim/2, 2] computed in float64 on the CPU (it folds
// in the rope scaling type). The backward is the same rotation with sin negated (sign = -1).

struct Params {
  T: u32, heads: u32, headDim: u32, rowStride: u32,
  xOff: u32, posOff: u32, sign: f32, maxPos: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read> table: array<f32>;

@compute @workgroup_size(256)
fn rotate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let half = p.headDim / 2u;
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.T * p.heads * half) { return; }
  let d = i % half;
  let h = (i / half) % p.heads;
  let t = i / (half * p.heads);
  let pos = min(positions[p.posOff + t], p.maxPos - 1u);
  let c = table[(pos * half + d) * 2u];
  let s = p.sign * table[(pos * half + d) * 2u + 1u];
  let base = p.xOff + t * p.rowStride + h * p.headDim + d;
  let x1 = x[base];
  let x2 = x[base + half];
  x[base] = x1 * c - x2 * s;
  x[base + half] = x2 * c + x1 * s;
}
