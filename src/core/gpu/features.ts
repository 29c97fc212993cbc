import type { Gpu } from './gpu.ts';

/**
 * Whether row reductions (norms, cross-entropy, sums) use subgroup operations: the adapter offers
 * `subgroups` and the WGSL `subgroup_id` builtin. `gpu.tuning.subgroups = false` forces the
 * workgroup-memory path (tests run both on one adapter).
 */
export function subgroupReductions(gpu: Gpu): boolean {
  if (gpu.tuning.subgroups === false) return false;
  return gpu.features.has('subgroups') && gpu.wgslFeatures.has('subgroup_id');
}

/** Whether the adapter can run f16 shaders (half-precision weights, `--precision f16`). */
export const hasShaderF16 = (gpu: Gpu): boolean => gpu.features.has('shader-f16');
