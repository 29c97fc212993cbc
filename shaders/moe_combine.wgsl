// Scaling each expert's SwiGLU output by its combine weight, and the backward of that.
// combine_scale: x[t, i] = comb[t·R + e] · act[t, i]   (the down projection then reads x).
// combine_backward, one invocation per token: on entry x = d(scaled act); writes
// dcomb[t·R + e] = sum_i x[t, i] · act[t, i] and leaves x = comb · x = d(act).

struct Params {
  T: u32, I: u32, R: u32, e: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> comb: array<f32>;
@group(0) @binding(2) var<storage, read> act: array<f32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> dcomb: array<f32>;

@compute @workgroup_size(256)
fn combine_scale(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.T * p.I) { return; }
  x[i] = comb[(i / p.I) * p.R + p.e] * act[i];
}

@compute @workgroup_size(256)
fn combine_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * 256u;
  if (t >= p.T) { return; }
  let c = comb[t * p.R + p.e];
  var dc = 0.0;
  for (var i = t * p.I; i < (t + 1u) * p.I; i++) {
    dc += x[i] * act[i];
    x[i] = c * x[i];
  }
  dcomb[t * p.R + p.e] = dc;
}
