import code from '../../../shaders/geglu.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { launch1d } from './launch.ts';

const spec = (entry: string): KernelSpec => ({ name: 'geglu', code, entry, bindings: ['uniform', 'read', 'rw', 'read'] });
const FORWARD = spec('geglu_forward');
const BACKWARD = spec('geglu_backward');

function run(gpu: Gpu, program: Program, s: KernelSpec, rows: number, width: number, x: Tensor, y: Tensor, dy: Tensor | null): Promise<void> {
  return launch1d(
    gpu, program, s,
    [[rows * width, 'u32'], [width, 'u32'], [x.offset, 'u32'], [y.offset, 'u32'], [dy?.offset ?? 0, 'u32'], [0, 'u32'], [0, 'u32'], [0, 'u32']],
    [x.buffer, y.buffer, dy?.buffer ?? gpu.placeholder],
    rows * width,
  );
}

/** out [rows, width] = gelu_tanh(gate) · up, from gateUp [rows, 2·width] (Gemma's MLP). */
export function gegluForward(gpu: Gpu, program: Program, gateUp: Tensor, out: Tensor, rows: number, width: number): Promise<void> {
  return run(gpu, program, FORWARD, rows, width, gateUp, out, null);
}

/** dGateUp [rows, 2·width] from dOut [rows, width]. */
export function gegluBackward(gpu: Gpu, program: Program, gateUp: Tensor, dOut: Tensor, dGateUp: Tensor, rows: number, width: number): Promise<void> {
  return run(gpu, program, BACKWARD, rows, width, gateUp, dGateUp, dOut);
}
