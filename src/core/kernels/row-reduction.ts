import sharedCode from '../../../shaders/reduction_shared.wgsl';
import subgroupCode from '../../../shaders/reduction_subgroup.wgsl';
import { subgroupReductions } from '../gpu/features.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';

/** A kernel family whose shader calls wg_sum / wg_sum2 / wg_max, in both reduction variants. */
export interface ReducingKernel {
  readonly shared: KernelSpec;
  readonly subgroup: KernelSpec;
}

/**
 * Builds both variants of a kernel whose WGSL `body` uses the reductions of
 * reduction_shared.wgsl / reduction_subgroup.wgsl (the `enable` directive must come first).
 */
export function reducingKernel(name: string, body: string, entry: string, bindings: KernelSpec['bindings']): ReducingKernel {
  return {
    shared: { name, code: `${sharedCode}\n${body}`, entry, bindings },
    subgroup: { name: `${name}_subgroup`, code: `${subgroupCode}\n${body}`, entry, bindings },
  };
}

/** The variant this device uses, chosen when the dispatch is recorded. */
export const pick = (gpu: Gpu, k: ReducingKernel): KernelSpec => (subgroupReductions(gpu) ? k.subgroup : k.shared);
