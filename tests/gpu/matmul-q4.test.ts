import { describe, expect, it } from 'vitest';
import { dequantizeNf4, matmulQ4Forward, matmulQ4Input, NF4, q4Groups, quantizeNf4 } from '../../src/core/kernels/matmul-q4.ts';
import { matmulRef } from '../../src/core/kernels/matmul.ts';
import { tensorOf } from '../../src/core/gpu/tensor.ts';
import { randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

describe('NF4 weight matmuls (group size 64)', () => {
  it('quantises each group to its nearest NF4 level and round-trips', () => {
    const rows = 5;
    const cols = 150; // two full groups and a tail of 22
    const w = randomArray(rows * cols, 3, 2);
    w[7] = 0;
    const { words, scales } = quantizeNf4(w, rows, cols);
    expect(scales.length).toBe(rows * q4Groups(cols));
    const back = dequantizeNf4(words, scales, rows, cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const s = scales[r * 3 + Math.floor(c / 64)]!;
        const v = w[r * cols + c]!;
        // Nearest level: no NF4 level is closer to v / s than the one chosen.
        const err = Math.abs(back[r * cols + c]! - v);
        const best = Math.min(...Array.from(NF4, (l) => Math.abs(l * s - v)));
        expect(err).toBeLessThanOrEqual(best + 1e-6 * s);
      }
      // Each group's largest magnitude is represented exactly (it maps to ±1).
      for (let g = 0; g < 3; g++) {
        const row = Array.from(w.subarray(r * cols + g * 64, r * cols + Math.min(cols, g * 64 + 64)), Math.abs);
        expect(scales[r * 3 + g]).toBe(Math.fround(Math.max(...row)));
      }
    }
    expect(back[7]).toBe(0);
  });

  for (const [T, out, inF] of [[5, 9, 12], [37, 30, 64], [3, 130, 100], [33, 7, 197], [1, 64, 128]]) {
    it(`forward and input gradient match the dequantised float64 product (${T}x${out}x${inF})`, async () => {
      const gpu = await testGpu();
      const w = randomArray(out * inF, out + inF);
      const { words, scales } = quantizeNf4(w, out, inF);
      const deq = dequantizeNf4(words, scales, out, inF);
      const x = randomArray(T * inF, 5);
      const bias = randomArray(out, 6);
      const padded = new Uint32Array(words.length + 3);
      padded.set(words, 3);
      const q = { q4: tensorOf(gpu.upload(padded, 'weights', 'q4'), [padded.length], 3), scale: upload(gpu, scales), out, in: inF };
      const y0 = randomArray(T * out, 7);
      const y = upload(gpu, y0);
      const got = await runAndRead(gpu, (p) => matmulQ4Forward(gpu, p, T, upload(gpu, x), inF, q, y, out, { bias: upload(gpu, bias), beta: 1 }), y);
      const want = matmulRef(x, deq, T, out, inF, { transB: true, bias, beta: 1, c: y0 });
      expect(relError(got, want)).toBeLessThan(1e-5);

      const dy = randomArray(T * out, 8);
      const dx0 = randomArray(T * inF, 9);
      const dx = upload(gpu, dx0);
      const gotDx = await runAndRead(gpu, (p) => matmulQ4Input(gpu, p, T, upload(gpu, dy), out, q, dx, inF, 1), dx);
      expect(relError(gotDx, matmulRef(dy, deq, T, inF, out, { beta: 1, c: dx0 }))).toBeLessThan(1e-5);
    });
  }
});
