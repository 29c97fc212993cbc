import { describe, expect, it } from 'vitest';
import { headNormBackward, headNormForward, headNormRef, headNormWeightGrad } from '../../src/core/kernels/head-norm.ts';
import { allocTensor, viewOf } from '../../src/core/gpu/tensor.ts';
import { dotWith, numericGrad, randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

/** The [T, heads, D] block at column `col` of rows `stride` wide, as a dense array. */
function block(rowsArr: ArrayLike<number>, T: number, stride: number, col: number, width: number): Float64Array {
  const out = new Float64Array(T * width);
  for (let t = 0; t < T; t++) for (let i = 0; i < width; i++) out[t * width + i] = rowsArr[t * stride + col + i]!;
  return out;
}

describe('per-head RMSNorm on a strided q|k|v block (Qwen3 q_norm / k_norm)', () => {
  // T tokens, `heads` heads of D, inside rows of `stride` starting at column `col`.
  for (const [T, heads, D, stride, col] of [[7, 3, 12, 60, 0], [7, 1, 12, 60, 36], [5, 2, 130, 300, 40]]) {
    it(`T=${T}, ${heads} heads of ${D} at column ${col} of ${stride}: forward, dx in place, dweight`, async () => {
      const gpu = await testGpu();
      const eps = 1e-6;
      const width = heads * D;
      const rowsX = randomArray(T * stride, T + D, 2);
      const w = randomArray(D, 7);
      const qkv = upload(gpu, rowsX);
      const args = {
        T, heads, headDim: D, stride, eps, x: viewOf(qkv, [T, width], col), weight: upload(gpu, w),
        saved: allocTensor(gpu, [T * width], 'scratch', 'saved'), stats: allocTensor(gpu, [T * heads], 'scratch', 'stats'),
      };
      const x = block(rowsX, T, stride, col, width);
      const got = await runAndRead(gpu, (p) => headNormForward(gpu, p, args), qkv);
      expect(relError(block(got, T, stride, col, width), headNormRef(x, w, T * heads, D, eps))).toBeLessThan(1e-5);
      // Columns outside the block are untouched.
      const outside = got.filter((_, i) => i % stride < col || i % stride >= col + width);
      expect(Array.from(outside)).toEqual(Array.from(rowsX.filter((_, i) => i % stride < col || i % stride >= col + width)));

      const dyRows = randomArray(T * stride, 21);
      const dqkv = upload(gpu, dyRows);
      const dyView = viewOf(dqkv, [T, width], col);
      const dw = upload(gpu, new Float32Array(D).fill(0.5));
      const gotDx = await runAndRead(gpu, async (p) => {
        await headNormWeightGrad(gpu, p, args, dyView, dw);
        await headNormBackward(gpu, p, args, dyView);
      }, dqkv);
      const loss = dotWith(block(dyRows, T, stride, col, width));
      const gx = numericGrad((xs) => loss(headNormRef(xs, w, T * heads, D, eps)), x);
      expect(relError(block(gotDx, T, stride, col, width), gx)).toBeLessThan(1e-4);
      const gw = numericGrad((ws) => loss(headNormRef(x, ws, T * heads, D, eps)), w);
      expect(relError(await runAndRead(gpu, async () => {}, dw), gw.map((g) => g + 0.5))).toBeLessThan(1e-4);
    });
  }
});
