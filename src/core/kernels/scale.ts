import code from '../../../shaders/scale.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { launch1d } from './launch.ts';

const SCALE: KernelSpec = { name: 'scale', code, entry: 'scale', bindings: ['uniform', 'rw'] };

/** x ← s·x over n elements, in place. */
export function scaleInPlace(gpu: Gpu, program: Program, x: Tensor, n: number, s: number): Promise<void> {
  return launch1d(gpu, program, SCALE, [[n, 'u32'], [x.offset, 'u32'], [s, 'f32'], [0, 'u32']], [x.buffer], n);
}
