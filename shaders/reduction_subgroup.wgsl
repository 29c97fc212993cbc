// Workgroup reductions with subgroup operations: each subgroup reduces in registers, its first
// lane leaves the result in workgroup memory, and after one barrier every subgroup reduces those
// partials again. Two barriers in all, against one per tree level in reduction_shared.wgsl.
enable subgroups;

struct Lane {
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_id) sg: u32,
  @builtin(num_subgroups) groups: u32,
  @builtin(subgroup_invocation_id) sl: u32,
  @builtin(subgroup_size) size: u32,
}

var<workgroup> part: array<vec2f, WG>;

fn wg_sum2(lane: Lane, v: vec2f) -> vec2f {
  let s = subgroupAdd(v);
  if (lane.sl == 0u) { part[lane.sg] = s; }
  workgroupBarrier();
  var t = vec2f(0.0);
  for (var i = lane.sl; i < lane.groups; i += lane.size) { t += part[i]; }
  let total = subgroupAdd(t);
  workgroupBarrier();
  return total;
}

fn wg_sum(lane: Lane, v: f32) -> f32 {
  return wg_sum2(lane, vec2f(v, 0.0)).x;
}

fn wg_max(lane: Lane, v: f32) -> f32 {
  let s = subgroupMax(v);
  if (lane.sl == 0u) { part[lane.sg].x = s; }
  workgroupBarrier();
  var t = -3.0e38;
  for (var i = lane.sl; i < lane.groups; i += lane.size) { t = max(t, part[i].x); }
  let total = subgroupMax(t);
  workgroupBarrier();
  return total;
}
