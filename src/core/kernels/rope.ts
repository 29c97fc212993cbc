import code from '../../../shaders/rope.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { launch1d } from './launch.ts';

const ROTATE: KernelSpec = { name: 'rope', code, entry: 'rotate', bindings: ['uniform', 'rw', 'read', 'read'] };

/**
 * cos/sin table [positions, headDim/2, 2] in float64 then rounded to f32: cos(p·invFreq[i])·scale.
 * `invFreq` already includes the rope scaling (linear, llama3); `scale` is the attention factor.
 */
export function ropeTable(invFreq: ArrayLike<number>, positions: number, scale = 1): Float32Array {
  const half = invFreq.length;
  const table = new Float32Array(positions * half * 2);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * invFreq[i]!;
      table[(p * half + i) * 2] = Math.cos(a) * scale;
      table[(p * half + i) * 2 + 1] = Math.sin(a) * scale;
    }
  }
  return table;
}

export interface RopeArgs {
  readonly x: Tensor;
  readonly T: number;
  readonly heads: number;
  readonly headDim: number;
  /** Elements between consecutive tokens (a fused q|k|v row is wider than heads·headDim). */
  readonly rowStride: number;
  readonly positions: Tensor;
  readonly table: Tensor;
  readonly maxPositions: number;
}

/** Rotates in place; `inverse` applies the transpose (the backward of the forward rotation). */
export function rope(gpu: Gpu, program: Program, a: RopeArgs, inverse = false): Promise<void> {
  if (a.headDim % 2 !== 0) throw new Error(`rope: head_dim ${a.headDim} is odd`);
  return launch1d(
    gpu, program, ROTATE,
    [
      [a.T, 'u32'], [a.heads, 'u32'], [a.headDim, 'u32'], [a.rowStride, 'u32'],
      [a.x.offset, 'u32'], [a.positions.offset, 'u32'], [inverse ? -1 : 1, 'f32'], [a.maxPositions, 'u32'],
    ],
    [a.x.buffer, a.positions.buffer, a.table.buffer],
    (a.T * a.heads * a.headDim) / 2,
  );
}

/** Float64 reference on a dense [T, heads, headDim] array. */
export function ropeRef(
  x: ArrayLike<number>, positions: ArrayLike<number>, invFreq: ArrayLike<number>, heads: number, headDim: number, sign = 1,
): Float64Array {
  const out = Float64Array.from(x);
  const half = headDim / 2;
  for (let t = 0; t < positions.length; t++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < half; i++) {
        const a = positions[t]! * invFreq[i]!;
        const [c, s] = [Math.cos(a), sign * Math.sin(a)];
        const b = (t * heads + h) * headDim + i;
        out[b] = x[b]! * c - x[b + half]! * s;
        out[b + half] = x[b + half]! * c + x[b]! * s;
      }
    }
  }
  return out;
}
