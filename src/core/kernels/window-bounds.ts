import code from '../../../shaders/window_bounds.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { launch1d } from './launch.ts';

const WINDOW: KernelSpec = { name: 'window_bounds', code, entry: 'window_bounds', bindings: ['uniform', 'read', 'rw'] };

/**
 * Sliding-window query and key bounds (u32 [T, 2] each, see attention.ts) from causal ones, so
 * one attention kernel serves global and sliding layers: a query sees its last `window` keys.
 * The inputs must share one buffer, and so must the outputs.
 */
export function windowBounds(
  gpu: Gpu, program: Program, T: number, window: number, qIn: Tensor, kIn: Tensor, qOut: Tensor, kOut: Tensor,
): Promise<void> {
  if (qIn.buffer !== kIn.buffer || qOut.buffer !== kOut.buffer) throw new Error('window bounds: inputs and outputs must each share a buffer');
  return launch1d(
    gpu, program, WINDOW,
    [[T, 'u32'], [window, 'u32'], [qIn.offset, 'u32'], [kIn.offset, 'u32'], [qOut.offset, 'u32'], [kOut.offset, 'u32'], [0, 'u32'], [0, 'u32']],
    [qIn.buffer, qOut.buffer],
    T,
  );
}
