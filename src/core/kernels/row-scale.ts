import code from '../../../shaders/row_scale.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { LogitsChunk } from './cross-entropy.ts';
import { launch1d } from './launch.ts';

const SCALE_ROWS: KernelSpec = { name: 'row_scale', code, entry: 'scale_rows', bindings: ['uniform', 'rw', 'read'] };

/**
 * In place: row t of a logits chunk [T, Vc] times weights[t]. After `crossEntropyGrad` with a
 * loss scale of 1 this turns d(Σ token CE)/d(logits) into d(Σ w_t·CE_t)/d(logits): the backward of
 * a loss that weights each token (preference losses weight each sequence's tokens by dL/dlogp).
 */
export function scaleRows(gpu: Gpu, program: Program, T: number, c: LogitsChunk, weights: Tensor): Promise<void> {
  return launch1d(
    gpu, program, SCALE_ROWS,
    [[T, 'u32'], [c.Vc, 'u32'], [c.logits.offset, 'u32'], [c.Vc, 'u32'], [weights.offset, 'u32'], [0, 'u32'], [0, 'u32'], [0, 'u32']],
    [c.logits.buffer, weights.buffer], T * c.Vc,
  );
}

/** Float64 reference: x [T, V] with row t scaled by w[t]. */
export function scaleRowsRef(x: ArrayLike<number>, w: ArrayLike<number>, V: number): Float64Array {
  return Float64Array.from(x, (v, i) => v * w[Math.floor(i / V)]!);
}
