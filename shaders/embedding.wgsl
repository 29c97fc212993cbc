// Embedding lookup and its backward. A table may be split into row chunks (a 151k-row
// vocabulary exceeds one binding on some adapters): each dispatch covers rows
// [rowStart, rowStart + rows) and ignores ids outside that range.

struct Params {
  T: u32, D: u32, rowStart: u32, rows: u32,
  wOff: u32, outOff: u32, idsOff: u32, accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// backward: d(out) in, d(w) accumulated
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

// out[t, :] (+)= w[ids[t] - rowStart, :]
@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.T * p.D) { return; }
  let t = i / p.D;
  let d = i % p.D;
  let id = ids[p.idsOff + t];
  let o = p.outOff + i;
  if (id < p.rowStart || id >= p.rowStart + p.rows) {
    // Another chunk holds this row; an overwriting pass still clears the output.
    if (p.accumulate == 0u) { out[o] = 0.0; }
    return;
  }
  let v = w[p.wOff + (id - p.rowStart) * p.D + d];
  if (p.accumulate != 0u) { out[o] += v; } else { out[o] = v; }
}

// dw[ids[t] - rowStart, d] += dout[t, d]; each invocation owns one column d and walks the
// tokens in order, so repeated ids add up deterministically without atomics.
@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3u) {
  let d = gid.x;
  if (d >= p.D) { return; }
  for (var t = 0u; t < p.T; t++) {
    let id = ids[p.idsOff + t];
    if (id >= p.rowStart && id < p.rowStart + p.rows) {
      dw[p.wOff + (id - p.rowStart) * p.D + d] += dout[p.outOff + t * p.D + d];
    }
  }
}
