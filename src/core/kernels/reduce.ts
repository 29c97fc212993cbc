import code from '../../../shaders/reduce.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { packParams } from '../gpu/params.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { pick, reducingKernel } from './row-reduction.ts';

const PARTIAL = reducingKernel('reduce', code, 'partial', ['uniform', 'read', 'rw']);
const TOTAL = reducingKernel('reduce', code, 'total', ['uniform', 'read', 'rw']);
const COLUMNS: KernelSpec = reducingKernel('reduce', code, 'column_sums', ['uniform', 'read', 'rw']).shared;
const PER_GROUP = 1024;

/** Partial sums needed for ranges of these lengths. */
export const partialsFor = (lengths: readonly number[]): number => lengths.reduce((n, len) => n + Math.ceil(len / PER_GROUP), 0);

/**
 * step[slot] (+)= Σ over every range of x (or x² when `square`): the global gradient norm over
 * all trainable parameters, or the loss over all rows. `partials` holds partialsFor(lengths) floats.
 */
export async function sumInto(
  gpu: Gpu, program: Program, ranges: readonly { x: Tensor; n: number }[], partials: Tensor,
  step: Tensor, slot: number, o: { square?: boolean; accumulate?: boolean } = {},
): Promise<void> {
  let off = 0;
  for (const { x, n } of ranges) {
    const groups = Math.ceil(n / PER_GROUP);
    if (groups === 0) continue;
    const f = packParams([
      [n, 'u32'], [x.offset, 'u32'], [partials.offset + off, 'u32'], [o.square ? 1 : 0, 'u32'],
      [0, 'u32'], [0, 'u32'], [0, 'u32'], [0, 'u32'],
    ]);
    await gpu.record(program, pick(gpu, PARTIAL), [gpu.uniforms.alloc(f), x.buffer, partials.buffer], gpu.grid(groups));
    off += groups;
  }
  if (partials.offset !== 0) throw new Error('sumInto: partials must start at offset 0');
  const f = packParams([[off, 'u32'], [0, 'u32'], [0, 'u32'], [0, 'u32'], [step.offset + slot, 'u32'], [o.accumulate ? 1 : 0, 'u32'], [0, 'u32'], [0, 'u32']]);
  await gpu.record(program, pick(gpu, TOTAL), [gpu.uniforms.alloc(f), partials.buffer, step.buffer], [1]);
}

/** out[c] += Σ_r x[r·ld + c] for c < cols (the bias gradient from dY). */
export function columnSums(gpu: Gpu, program: Program, x: Tensor, rows: number, cols: number, ld: number, out: Tensor): Promise<void> {
  const f = packParams([[rows, 'u32'], [cols, 'u32'], [ld, 'u32'], [x.offset, 'u32'], [out.offset, 'u32'], [0, 'u32'], [0, 'u32'], [0, 'u32']]);
  return gpu.record(program, COLUMNS, [gpu.uniforms.alloc(f), x.buffer, out.buffer], [Math.ceil(cols / 64)]);
}
