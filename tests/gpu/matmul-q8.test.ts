import { describe, expect, it } from 'vitest';
import { dequantizeRows, matmulQ8Forward, matmulQ8Input, quantizeRows } from '../../src/core/kernels/matmul-q8.ts';
import { matmulRef } from '../../src/core/kernels/matmul.ts';
import { tensorOf } from '../../src/core/gpu/tensor.ts';
import { randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

describe('int8 weight matmuls', () => {
  it('quantises per row within half a step and round-trips', () => {
    const w = randomArray(7 * 12, 3, 2);
    const { words, scales } = quantizeRows(w, 7, 12);
    const back = dequantizeRows(words, scales, 7, 12);
    for (let r = 0; r < 7; r++) for (let c = 0; c < 12; c++) expect(Math.abs(back[r * 12 + c]! - w[r * 12 + c]!)).toBeLessThanOrEqual(scales[r]! / 2 + 1e-7);
  });

  for (const [T, out, inF] of [[5, 9, 12], [37, 30, 64], [3, 130, 20]]) {
    it(`forward and input gradient match the dequantised float64 product (${T}x${out}x${inF})`, async () => {
      const gpu = await testGpu();
      const w = randomArray(out * inF, out + inF);
      const { words, scales } = quantizeRows(w, out, inF);
      const deq = dequantizeRows(words, scales, out, inF);
      const x = randomArray(T * inF, 5);
      const bias = randomArray(out, 6);
      const padded = new Uint32Array(words.length + 3);
      padded.set(words, 3);
      const q = { q: tensorOf(gpu.upload(padded, 'weights', 'q'), [padded.length], 3), scale: upload(gpu, scales), out, in: inF };
      const y0 = randomArray(T * out, 7);
      const y = upload(gpu, y0);
      const got = await runAndRead(gpu, (p) => matmulQ8Forward(gpu, p, T, upload(gpu, x), inF, q, y, out, { bias: upload(gpu, bias), beta: 1 }), y);
      const want = matmulRef(x, deq, T, out, inF, { transB: true, bias, beta: 1, c: y0 });
      expect(relError(got, want)).toBeLessThan(1e-5);

      const dy = randomArray(T * out, 8);
      const dx = upload(gpu, new Float32Array(T * inF));
      const gotDx = await runAndRead(gpu, (p) => matmulQ8Input(gpu, p, T, upload(gpu, dy), out, q, dx, inF), dx);
      expect(relError(gotDx, matmulRef(dy, deq, T, inF, out))).toBeLessThan(1e-5);
    });
  }
});
