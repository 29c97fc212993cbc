import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { matmul } from '../kernels/matmul.ts';
import type { MatmulEpilogue } from '../kernels/matmul-epilogue.ts';
import { matmulF16Forward, matmulF16Input, type F16Weight } from '../kernels/matmul-f16.ts';
import { matmulQ8Forward, matmulQ8Input, type Q8Weight } from '../kernels/matmul-q8.ts';
import { matmulQ4Forward, matmulQ4Input, type Q4Weight } from '../kernels/matmul-q4.ts';
import { columnSums } from '../kernels/reduce.ts';
import type { NormedOperand } from '../kernels/matmul-prologue.ts';

/** A [rows, cols] matrix inside a buffer, possibly a column slice of a wider one (row stride ld). */
export interface Mat {
  readonly t: Tensor;
  readonly ld: number;
  /** The matrix is norm(t), read through the norm by the matmuls (model/normed-input.ts); t is the norm's input. */
  readonly norm?: NormedOperand;
}

export const mat = (t: Tensor, ld: number, col = 0): Mat => ({ t: { ...t, offset: t.offset + col }, ld });

/** A linear layer's weight [out, in]: f32, int8 with row scales, NF4 with group scales, or f16. */
export type LinearWeight = Tensor | Q8Weight | Q4Weight | F16Weight;

const isQ8 = (w: LinearWeight): w is Q8Weight => 'q' in w;
const isQ4 = (w: LinearWeight): w is Q4Weight => 'q4' in w;
const isF16 = (w: LinearWeight): w is F16Weight => 'h' in w;

/** y (+)= x Wᵀ (+ b) for x [T, in], W [out, in]. */
export function linearForward(
  gpu: Gpu, p: Program, T: number, x: Mat, w: LinearWeight, out: number, inF: number, y: Mat,
  o: { bias?: Tensor; accumulate?: boolean; alpha?: number; epilogue?: MatmulEpilogue } = {},
): Promise<void> {
  if (o.epilogue && (isQ8(w) || isQ4(w))) throw new Error('matmul epilogues need an f32 or f16 base weight');
  const norm = x.norm;
  if (isQ8(w)) return matmulQ8Forward(gpu, p, T, x.t, x.ld, w, y.t, y.ld, { bias: o.bias, alpha: o.alpha, beta: o.accumulate ? 1 : 0, norm });
  if (isF16(w)) {
    return matmulF16Forward(gpu, p, T, x.t, x.ld, w, y.t, y.ld, { bias: o.bias, alpha: o.alpha, beta: o.accumulate ? 1 : 0, epilogue: o.epilogue, norm });
  }
  if (isQ4(w)) return matmulQ4Forward(gpu, p, T, x.t, x.ld, w, y.t, y.ld, { bias: o.bias, alpha: o.alpha, beta: o.accumulate ? 1 : 0, norm });
  return matmul(gpu, p, {
    a: x.t, lda: x.ld, normA: norm, b: w, transB: true, c: y.t, ldc: y.ld,
    M: T, N: out, K: inF, bias: o.bias, beta: o.accumulate ? 1 : 0, alpha: o.alpha, epilogue: o.epilogue,
  });
}

/** dx (+)= dy W for dy [T, out], W [out, in]. */
export function linearBackwardInput(
  gpu: Gpu, p: Program, T: number, dy: Mat, w: LinearWeight, out: number, inF: number, dx: Mat, accumulate: boolean,
  epilogue?: MatmulEpilogue,
): Promise<void> {
  if (epilogue && (isQ8(w) || isQ4(w))) throw new Error('matmul epilogues need an f32 or f16 base weight');
  if (isQ8(w)) return matmulQ8Input(gpu, p, T, dy.t, dy.ld, w, dx.t, dx.ld, accumulate ? 1 : 0);
  if (isF16(w)) return matmulF16Input(gpu, p, T, dy.t, dy.ld, w, dx.t, dx.ld, accumulate ? 1 : 0, epilogue);
  if (isQ4(w)) return matmulQ4Input(gpu, p, T, dy.t, dy.ld, w, dx.t, dx.ld, accumulate ? 1 : 0);
  return matmul(gpu, p, { a: dy.t, lda: dy.ld, b: w, c: dx.t, ldc: dx.ld, M: T, N: inF, K: out, beta: accumulate ? 1 : 0, epilogue });
}

/** dW += dyᵀ x (and db += Σ rows of dy). */
export async function linearBackwardParams(
  gpu: Gpu, p: Program, T: number, dy: Mat, x: Mat, out: number, inF: number, dw: Tensor, db?: Tensor, alpha = 1,
): Promise<void> {
  await matmul(gpu, p, { a: dy.t, transA: true, lda: dy.ld, b: x.t, ldb: x.ld, normB: x.norm, c: dw, M: out, N: inF, K: T, beta: 1, alpha });
  if (db) await columnSums(gpu, p, dy.t, T, out, dy.ld, db);
}
