import { describe, expect, it } from 'vitest';
import { halfBits, halfValue, matmulF16Forward, matmulF16Input, packHalves, unpackHalves } from '../../src/core/kernels/matmul-f16.ts';
import { halfToF32 } from '../../src/core/kernels/convert.ts';
import { matmulRef } from '../../src/core/kernels/matmul.ts';
import { allocTensor, tensorOf } from '../../src/core/gpu/tensor.ts';
import { randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

describe('f16 conversion', () => {
  it('rounds to nearest even, with subnormals and overflow, as IEEE binary16', () => {
    const cases: [number, number][] = [
      [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [2 ** -24, 0x0001], [2 ** -25, 0x0000],
      [3 * 2 ** -26, 0x0001], [1 / 3, 0x3555], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [0, 0], [-0, 0x8000],
      [Infinity, 0x7c00], [2 ** -14, 0x0400], [2 ** -14 - 2 ** -25, 0x0400],
    ];
    for (const [x, bits] of cases) expect(halfBits(x), `${x}`).toBe(bits);
    expect(Number.isNaN(halfValue(halfBits(NaN)))).toBe(true);
    for (let h = 0; h < 0x7c00; h += 7) expect(halfBits(halfValue(h))).toBe(h);
  });

  it('packed halves widen on the GPU to the values the CPU reads', async () => {
    const gpu = await testGpu();
    const x = randomArray(1002, 3, 70000);
    const words = packHalves(x);
    const out = allocTensor(gpu, [x.length], 'scratch', 'out');
    const got = await runAndRead(gpu, (p) => halfToF32(gpu, p, 'F16', gpu.upload(words, 'scratch', 'h'), 0, out, x.length), out);
    expect(Array.from(got)).toEqual(Array.from(unpackHalves(words)));
  });
});

describe('matmul against f16 weights, f32 accumulation', () => {
  // Odd row counts and output widths; in_features % 4 == 0 (the f16 layout's rule).
  for (const [T, out, inF] of [[1, 3, 4], [7, 33, 20], [33, 65, 132], [70, 257, 96]]) {
    it(`x [${T}, ${inF}] · Wᵀ [${out}, ${inF}], forward and input gradient`, async () => {
      const gpu = await testGpu();
      const xv = randomArray(T * inF, T + inF, 2);
      const wv = randomArray(out * inF, out, 0.5);
      const words = packHalves(wv);
      const wh = unpackHalves(words);
      // The weight after a 2-word pad: the offset rule (even words) is exercised, not just offset 0.
      const padded = new Uint32Array(words.length + 2);
      padded.set(words, 2);
      const w = { h: tensorOf(gpu.upload(padded, 'scratch', 'w'), [out, inF / 2], 2), out, in: inF };
      const bias = randomArray(out, 9);
      const y = upload(gpu, randomArray(T * out, 10));
      const prior = await runAndRead(gpu, async () => {}, y);
      const gotY = await runAndRead(gpu, (p) => matmulF16Forward(gpu, p, T, upload(gpu, xv), inF, w, y, out, { bias: upload(gpu, bias), beta: 1, alpha: 0.5 }), y);
      const exactHalf = matmulRef(xv, wh, T, out, inF, { transB: true, bias, alpha: 0.5, beta: 1, c: prior });
      // Against the rounded weights: only f32 summation error. Against the f32 weights: the f16 rounding too.
      expect(relError(gotY, exactHalf)).toBeLessThan(1e-5);
      expect(relError(gotY, matmulRef(xv, wv, T, out, inF, { transB: true, bias, alpha: 0.5, beta: 1, c: prior }))).toBeLessThan(2e-3);

      const dyv = randomArray(T * out, 12);
      const dx = allocTensor(gpu, [T * inF], 'scratch', 'dx');
      const gotDx = await runAndRead(gpu, (p) => matmulF16Input(gpu, p, T, upload(gpu, dyv), out, w, dx, inF), dx);
      expect(relError(gotDx, matmulRef(dyv, wh, T, inF, out))).toBeLessThan(1e-5);
      expect(relError(gotDx, matmulRef(dyv, wv, T, inF, out))).toBeLessThan(2e-3);
    });
  }
});
