// Workgroup reductions through workgroup memory (a tree with a barrier per level): the path for
// adapters without `subgroups`. The kernel that includes this defines WG (its workgroup size) and
// takes a `Lane` parameter on its entry points. reduction_subgroup.wgsl has the same functions.

struct Lane {
  @builtin(local_invocation_index) lid: u32,
}

var<workgroup> part: array<vec2f, WG>;

// Sums v over the workgroup; every invocation gets the total.
fn wg_sum2(lane: Lane, v: vec2f) -> vec2f {
  part[lane.lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lane.lid < s) { part[lane.lid] += part[lane.lid + s]; }
    workgroupBarrier();
  }
  let total = part[0];
  workgroupBarrier();
  return total;
}

fn wg_sum(lane: Lane, v: f32) -> f32 {
  return wg_sum2(lane, vec2f(v, 0.0)).x;
}

// The maximum of v over the workgroup; every invocation gets it.
fn wg_max(lane: Lane, v: f32) -> f32 {
  part[lane.lid].x = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lane.lid < s) { part[lane.lid].x = max(part[lane.lid].x, part[lane.lid + s].x); }
    workgroupBarrier();
  }
  let total = part[0].x;
  workgroupBarrier();
  return total;
}
