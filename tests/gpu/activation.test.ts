import { describe, expect, it } from 'vitest';
import { activationBackward, activationForward, geluRef, siluRef, swigluBackward, swigluForward, swigluRef } from '../../src/core/kernels/activation.ts';
import { allocTensor } from '../../src/core/gpu/tensor.ts';
import { dotWith, numericGrad, randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

describe('activations', () => {
  for (const [act, ref] of [['gelu_new', geluRef], ['silu', siluRef]] as const) {
    it(`${act} forward matches float64 and backward matches finite differences`, async () => {
      const gpu = await testGpu();
      const n = 1037;
      const x = randomArray(n, 3, 6); // covers the saturated tails
      x[0] = 40; x[1] = -40; x[2] = 0;
      const y = allocTensor(gpu, [n], 'scratch', 'y');
      const got = await runAndRead(gpu, (p) => activationForward(gpu, p, act, upload(gpu, x), y, n), y);
      expect(relError(got, Float64Array.from(x, ref))).toBeLessThan(1e-4);

      const w = randomArray(n, 4);
      const dx = allocTensor(gpu, [n], 'scratch', 'dx');
      const gotDx = await runAndRead(gpu, (p) => activationBackward(gpu, p, act, upload(gpu, x), upload(gpu, w), dx, n), dx);
      const loss = dotWith(w);
      const want = numericGrad((xs) => loss(xs.map(ref)), x);
      expect(relError(gotDx, want)).toBeLessThan(1e-4);
    });
  }

  it('swiglu forward and backward on an odd shape', async () => {
    const gpu = await testGpu();
    const [rows, width] = [7, 45];
    const gu = randomArray(rows * 2 * width, 9, 4);
    const out = allocTensor(gpu, [rows * width], 'scratch', 'out');
    const gotY = await runAndRead(gpu, (p) => swigluForward(gpu, p, upload(gpu, gu), out, rows, width), out);
    expect(relError(gotY, swigluRef(gu, rows, width))).toBeLessThan(1e-4);

    const w = randomArray(rows * width, 10);
    const dgu = allocTensor(gpu, [rows * 2 * width], 'scratch', 'dgu');
    const got = await runAndRead(gpu, (p) => swigluBackward(gpu, p, upload(gpu, gu), upload(gpu, w), dgu, rows, width), dgu);
    const loss = dotWith(w);
    expect(relError(got, numericGrad((x) => loss(swigluRef(x, rows, width)), gu))).toBeLessThan(1e-4);
  });
});
