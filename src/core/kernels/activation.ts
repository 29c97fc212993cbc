import code from '../../../shaders/activation.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { launch1d } from './launch.ts';

const spec = (entry: string): KernelSpec => ({ name: 'activation', code, entry, bindings: ['uniform', 'read', 'rw', 'read'] });
const SPECS = {
  gelu_forward: spec('gelu_forward'),
  gelu_backward: spec('gelu_backward'),
  silu_forward: spec('silu_forward'),
  silu_backward: spec('silu_backward'),
  swiglu_forward: spec('swiglu_forward'),
  swiglu_backward: spec('swiglu_backward'),
};

export type Activation = 'gelu_new' | 'silu';

function run(
  gpu: Gpu, program: Program, s: KernelSpec, n: number, width: number, x: Tensor, y: Tensor, dy: Tensor | null, accumulate: boolean,
): Promise<void> {
  return launch1d(
    gpu, program, s,
    [[n, 'u32'], [width, 'u32'], [x.offset, 'u32'], [y.offset, 'u32'], [dy?.offset ?? 0, 'u32'], [accumulate ? 1 : 0, 'u32'], [0, 'u32'], [0, 'u32']],
    [x.buffer, y.buffer, dy?.buffer ?? gpu.placeholder],
    n,
  );
}

/** y = act(x) over n elements. */
export function activationForward(gpu: Gpu, program: Program, act: Activation, x: Tensor, y: Tensor, n: number): Promise<void> {
  return run(gpu, program, act === 'gelu_new' ? SPECS.gelu_forward : SPECS.silu_forward, n, 1, x, y, null, false);
}

/** dx (+)= dy · act'(x), with x the saved pre-activation. */
export function activationBackward(
  gpu: Gpu, program: Program, act: Activation, x: Tensor, dy: Tensor, dx: Tensor, n: number, accumulate = false,
): Promise<void> {
  return run(gpu, program, act === 'gelu_new' ? SPECS.gelu_backward : SPECS.silu_backward, n, 1, x, dx, dy, accumulate);
}

/** out [rows, width] = silu(gate) · up, from gateUp [rows, 2·width]. */
export function swigluForward(gpu: Gpu, program: Program, gateUp: Tensor, out: Tensor, rows: number, width: number): Promise<void> {
  return run(gpu, program, SPECS.swiglu_forward, rows * width, width, gateUp, out, null, false);
}

/** dGateUp [rows, 2·width] from dOut [rows, width]. */
export function swigluBackward(gpu: Gpu, program: Program, gateUp: Tensor, dOut: Tensor, dGateUp: Tensor, rows: number, width: number): Promise<void> {
  return run(gpu, program, SPECS.swiglu_backward, rows * width, width, gateUp, dGateUp, dOut, false);
}

// Float64 references.
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
export const geluRef = (v: number): number => 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v ** 3)));
export const siluRef = (v: number): number => v / (1 + Math.exp(-v));

export function swigluRef(gateUp: ArrayLike<number>, rows: number, width: number): Float64Array {
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) out[r * width + c] = siluRef(gateUp[r * 2 * width + c]!) * gateUp[r * 2 * width + width + c]!;
  }
  return out;
}
