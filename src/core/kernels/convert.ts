import code from '../../../shaders/convert.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { launch1d } from './launch.ts';

const spec = (entry: string): KernelSpec => ({ name: 'convert', code, entry, bindings: ['uniform', 'read', 'rw'] });
const FROM = { BF16: spec('bf16_to_f32'), F16: spec('f16_to_f32') } as const;

/** dst (f32, n elements) = src (n 16-bit values packed two per word, starting at an even element). */
export function halfToF32(gpu: Gpu, program: Program, dtype: 'BF16' | 'F16', src: GPUBuffer, srcWordOffset: number, dst: Tensor, n: number): Promise<void> {
  return launch1d(gpu, program, FROM[dtype], [[n, 'u32'], [srcWordOffset, 'u32'], [dst.offset, 'u32'], [0, 'u32']], [src, dst.buffer], n);
}
