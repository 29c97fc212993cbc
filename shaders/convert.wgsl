// BF16 / F16 weights to f32 on the GPU. The source holds two 16-bit values per u32 word
// (little-endian: the first value in the low half).

struct Params {
  n: u32, srcOff: u32, dstOff: u32, _p: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn half_bits(i: u32) -> u32 {
  let word = src[p.srcOff + i / 2u];
  return (word >> (16u * (i & 1u))) & 0xffffu;
}

@compute @workgroup_size(256)
fn bf16_to_f32(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  dst[p.dstOff + i] = bitcast<f32>(half_bits(i) << 16u);
}

@compute @workgroup_size(256)
fn f16_to_f32(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  dst[p.dstOff + i] = unpack2x16float(half_bits(i))[0];
}
