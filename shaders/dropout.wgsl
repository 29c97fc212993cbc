// Inverted dropout with a counter-based hash: keep(i) depends only on (seed, stream, i), so the
// backward regenerates the same mask instead of storing it. The seed changes every step through
// the step-state buffer; `stream` separates the LoRA modules that share one input. The backward
// applies the same mask to the incoming gradient (accumulating into the input's gradient).

struct Params {
  n: u32, xOff: u32, yOff: u32, stream: u32,
  threshold: u32, seedSlot: u32, scale: f32, accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> step: array<u32>;

// PCG-style integer hash (Jarzynski & Olano 2020).
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

@compute @workgroup_size(256)
fn apply(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let r = pcg(pcg(pcg(i) ^ step[p.seedSlot]) ^ p.stream);
  let v = select(0.0, x[p.xOff + i] * p.scale, r >= p.threshold);
  if (p.accumulate != 0u) { y[p.yOff + i] += v; } else { y[p.yOff + i] = v; }
}
