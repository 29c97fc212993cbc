import { describe, expect, it } from 'vitest';
import { normBackward, normForward, normParamGrads, normRef, statsPerRow, type NormKind } from '../../src/core/kernels/norm.ts';
import { allocTensor } from '../../src/core/gpu/tensor.ts';
import { dotWith, numericGrad, randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

describe('norms', () => {
  for (const kind of ['layernorm', 'rmsnorm'] as NormKind[]) {
    for (const [rows, D] of [[3, 5], [11, 67], [2, 300]]) {
      it(`${kind} ${rows}x${D}: forward, dx (accumulating), dweight, dbias`, async () => {
        const gpu = await testGpu();
        const eps = 1e-5;
        const x = randomArray(rows * D, rows + D, 2);
        const w = randomArray(D, 7);
        const b = kind === 'layernorm' ? randomArray(D, 8) : null;
        const args = {
          kind, rows, D, eps, x: upload(gpu, x), weight: upload(gpu, w), bias: b ? upload(gpu, b) : undefined,
          stats: allocTensor(gpu, [rows * statsPerRow(kind)], 'scratch', 'stats'),
        };
        const y = allocTensor(gpu, [rows * D], 'scratch', 'y');
        const gotY = await runAndRead(gpu, (p) => normForward(gpu, p, args, y), y);
        expect(relError(gotY, normRef(kind, x, w, b, rows, D, eps))).toBeLessThan(1e-4);

        const dyv = randomArray(rows * D, 21);
        const dy = upload(gpu, dyv);
        const prior = randomArray(rows * D, 22);
        const dx = upload(gpu, prior);
        const dw = upload(gpu, new Float32Array(D).fill(0.5));
        const db = upload(gpu, new Float32Array(D).fill(-0.25));
        const gotDx = await runAndRead(gpu, async (p) => {
          await normBackward(gpu, p, args, dy, dx, true);
          await normParamGrads(gpu, p, args, dy, dw, b ? db : undefined);
        }, dx);
        const loss = dotWith(dyv);
        const gx = numericGrad((xs) => loss(normRef(kind, xs, w, b, rows, D, eps)), x);
        expect(relError(gotDx, gx.map((g, i) => g + prior[i]!))).toBeLessThan(1e-4);
        const gw = numericGrad((ws) => loss(normRef(kind, x, ws, b, rows, D, eps)), w);
        expect(relError(await runAndRead(gpu, async () => {}, dw), gw.map((g) => g + 0.5))).toBeLessThan(1e-4);
        if (b) {
          const gb = numericGrad((bs) => loss(normRef(kind, x, w, bs, rows, D, eps)), b);
          expect(relError(await runAndRead(gpu, async () => {}, db), gb.map((g) => g - 0.25))).toBeLessThan(1e-4);
        }
      });
    }
  }
});
