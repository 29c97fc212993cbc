import code from '../../../shaders/dropout.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { launch1d } from './launch.ts';
import { Slot } from './step-state.ts';

const APPLY: KernelSpec = { name: 'dropout', code, entry: 'apply', bindings: ['uniform', 'read', 'rw', 'read'] };

/** y (+)= dropout(x) with probability `p`; the mask is a function of (step seed, stream, index). */
export function dropout(
  gpu: Gpu, program: Program, x: Tensor, y: Tensor, n: number, p: number, stream: number, step: Tensor, accumulate = false,
): Promise<void> {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout probability ${p} must be in [0, 1)`);
  const threshold = Math.min(0xffffffff, Math.round(p * 2 ** 32));
  return launch1d(
    gpu, program, APPLY,
    [
      [n, 'u32'], [x.offset, 'u32'], [y.offset, 'u32'], [stream >>> 0, 'u32'],
      [threshold, 'u32'], [step.offset + Slot.seed, 'u32'], [1 / (1 - p), 'f32'], [accumulate ? 1 : 0, 'u32'],
    ],
    [x.buffer, y.buffer, step.buffer],
    n,
  );
}
