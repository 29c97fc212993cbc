import code from '../../../shaders/elementwise.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { launch1d } from './launch.ts';

const spec = (entry: string): KernelSpec => ({ name: 'elementwise', code, entry, bindings: ['uniform', 'read', 'rw', 'read'] });
const AXPBY = spec('axpby');
const ADD = spec('add');
const FILL = spec('fill');

/** y = alpha·x + beta·y over n elements (copy: 1,0; scale in place is not allowed: x and y differ). */
export function axpby(gpu: Gpu, program: Program, x: Tensor, y: Tensor, n: number, alpha = 1, beta = 0): Promise<void> {
  return launch1d(
    gpu, program, AXPBY,
    [[n, 'u32'], [x.offset, 'u32'], [y.offset, 'u32'], [0, 'u32'], [alpha, 'f32'], [beta, 'f32'], [0, 'f32'], [0, 'u32']],
    [x.buffer, y.buffer, x.buffer],
    n,
  );
}

/** out = a + b over n elements. */
export function add(gpu: Gpu, program: Program, a: Tensor, b: Tensor, out: Tensor, n: number): Promise<void> {
  return launch1d(
    gpu, program, ADD,
    [[n, 'u32'], [a.offset, 'u32'], [out.offset, 'u32'], [b.offset, 'u32'], [1, 'f32'], [0, 'f32'], [0, 'f32'], [0, 'u32']],
    [a.buffer, out.buffer, b.buffer],
    n,
  );
}

/** y = value over n elements. */
export function fill(gpu: Gpu, program: Program, y: Tensor, n: number, value: number): Promise<void> {
  const dummy = gpu.placeholder;
  return launch1d(
    gpu, program, FILL,
    [[n, 'u32'], [0, 'u32'], [y.offset, 'u32'], [0, 'u32'], [0, 'f32'], [0, 'f32'], [value, 'f32'], [0, 'u32']],
    [dummy, y.buffer, dummy],
    n,
  );
}

export function axpbyRef(x: ArrayLike<number>, y: ArrayLike<number>, alpha: number, beta: number): Float64Array {
  return Float64Array.from(x, (v, i) => alpha * v + (beta ? beta * y[i]! : 0));
}
