// Sums without float atomics. `partial` reduces 1024 elements per workgroup (optionally squared:
// the global gradient norm), `total` adds the partials and writes (or accumulates) the result
// into a slot of the step-state buffer. `column_sums` adds the rows of a matrix (bias gradients).

struct Params {
  n: u32, xOff: u32, partialOff: u32, square: u32,
  slot: u32, accumulate: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
// total
@group(0) @binding(1) var<storage, read> partialsIn: array<f32>;
@group(0) @binding(2) var<storage, read_write> step: array<f32>;
// column_sums (bias gradients)
struct ColumnParams {
  rows: u32, cols: u32, ld: u32, xOff: u32,
  outOff: u32, _p0: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> cp: ColumnParams;
@group(0) @binding(2) var<storage, read_write> colOut: array<f32>;

const WG = 256u; // reductions: reduction_shared.wgsl or reduction_subgroup.wgsl, prepended

@compute @workgroup_size(256)
fn partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let lid = lane.lid;
  let w = wid.x + wid.y * nwg.x;
  var s = 0.0;
  for (var u = 0u; u < 4u; u++) {
    let i = w * 4u * WG + u * WG + lid;
    if (i < p.n) {
      let v = x[p.xOff + i];
      s += select(v, v * v, p.square != 0u);
    }
  }
  let total = wg_sum(lane, s);
  if (lid == 0u) { partials[p.partialOff + w] = total; }
}

@compute @workgroup_size(256)
fn total(lane: Lane) {
  let lid = lane.lid;
  var s = 0.0;
  for (var i = lid; i < p.n; i += WG) { s += partialsIn[i]; }
  let t = wg_sum(lane, s);
  if (lid == 0u) {
    if (p.accumulate != 0u) { step[p.slot] += t; } else { step[p.slot] = t; }
  }
}

// colOut[outOff + c] += sum over rows of x[xOff + r * ld + c]; one invocation per column, rows
// in order, so the result is deterministic.
@compute @workgroup_size(64)
fn column_sums(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= cp.cols) { return; }
  var s = 0.0;
  for (var r = 0u; r < cp.rows; r++) { s += x[cp.xOff + r * cp.ld + c]; }
  colOut[cp.outOff + c] += s;
}
