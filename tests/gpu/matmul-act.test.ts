import { describe, expect, it } from 'vitest';
import { tensorOf } from '../../src/core/gpu/tensor.ts';
import { geluRef, siluRef } from '../../src/core/kernels/activation.ts';
import { matmul, matmulRef } from '../../src/core/kernels/matmul.ts';
import type { ActivationEpilogue } from '../../src/core/kernels/matmul-epilogue.ts';
import { matmulF16Forward, matmulF16Input, packHalves, unpackHalves } from '../../src/core/kernels/matmul-f16.ts';
import { randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

const geluGrad = (v: number) => (geluRef(v + 1e-6) - geluRef(v - 1e-6)) / 2e-6;
const siluGrad = (v: number) => {
  const s = 1 / (1 + Math.exp(-v));
  return s * (1 + v * (1 - s));
};

// Odd rows and widths; K = 44 (vec4 paths) and 43 (scalar paths).
const [M, width] = [19, 27];

describe('matmul with the MLP activation in its epilogue, against float64', () => {
  // reg4 covers the vec4 and scalar stores; one blocked tile checks the splice there.
  for (const kernel of ['reg4', 'b32x32'] as const) {
    for (const act of kernel === 'reg4' ? (['gelu_new', 'silu'] as const) : (['gelu_new'] as const)) {
      it(`${kernel}, ${act}: forward keeps C and writes act(C); backward writes dC·act'(x)`, async () => {
        const gpu = await testGpu();
        gpu.tuning.matmul = kernel;
        try {
          for (const K of [43, 44]) {
            const x = randomArray(M * K, K);
            const w = randomArray(width * K, 2, 0.6);
            const c = upload(gpu, new Float32Array(M * width));
            const y = upload(gpu, new Float32Array(M * width + 5));
            const fwd: ActivationEpilogue = { kind: 'forward', act, y: tensorOf(y.buffer, [M * width], 5), ldy: width };
            await runAndRead(gpu, (p) => matmul(gpu, p, { a: upload(gpu, x), b: upload(gpu, w), transB: true, c, M, N: width, K, epilogue: { activation: fwd } }), c);
            const pre = matmulRef(x, w, M, width, K, { transB: true });
            const got = (await runAndRead(gpu, async () => {}, y)).subarray(5);
            expect(relError(got, pre.map(act === 'gelu_new' ? geluRef : siluRef)), `forward K=${K}`).toBeLessThan(1e-5);
            expect(relError(await runAndRead(gpu, async () => {}, c), pre)).toBeLessThan(1e-5);

            // Backward: dAct = dY [M, K] · W [K, width]; then times act'(pre) with pre saved in y.
            const dy = randomArray(M * K, 3);
            const w2 = randomArray(K * width, 4, 0.6);
            const savedPre = randomArray(M * width, 5, 3);
            const dx = upload(gpu, new Float32Array(M * width));
            const bwd: ActivationEpilogue = { kind: 'backward', act, y: upload(gpu, savedPre), ldy: width };
            const gotDx = await runAndRead(gpu, (p) => matmul(gpu, p, { a: upload(gpu, dy), b: upload(gpu, w2), c: dx, M, N: width, K, epilogue: { activation: bwd } }), dx);
            const dAct = matmulRef(dy, w2, M, width, K);
            const d = act === 'gelu_new' ? geluGrad : siluGrad;
            expect(relError(gotDx, dAct.map((v, i) => v * d(savedPre[i]!))), `backward K=${K}`).toBeLessThan(1e-5);
          }
        } finally {
          delete gpu.tuning.matmul;
        }
      });
    }
  }

  it('GeGLU backward (Gemma) into d(gate|up), f32 weights, both kernels', async () => {
    const gpu = await testGpu();
    const K = 21;
    const gateUp = randomArray(M * 2 * width, 12, 3);
    const dy = randomArray(M * K, 13);
    const wv = randomArray(K * width, 14, 0.6);
    const dAct = matmulRef(dy, wv, M, width, K);
    const want = new Float64Array(M * 2 * width);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < width; n++) {
        const [g, u] = [gateUp[m * 2 * width + n]!, gateUp[m * 2 * width + width + n]!];
        want[m * 2 * width + n] = dAct[m * width + n]! * u * geluGrad(g);
        want[m * 2 * width + width + n] = dAct[m * width + n]! * geluRef(g);
      }
    }
    const epilogue = { activation: { kind: 'backward', act: 'geglu', y: upload(gpu, gateUp), ldy: 2 * width, width } as const };
    for (const kernel of ['reg4', 'b32x32'] as const) {
      gpu.tuning.matmul = kernel;
      try {
        const dGateUp = upload(gpu, new Float32Array(M * 2 * width));
        const got = await runAndRead(gpu, (p) => matmul(gpu, p, { a: upload(gpu, dy), b: upload(gpu, wv), c: dGateUp, ldc: 2 * width, M, N: width, K, epilogue }), dGateUp);
        expect(relError(got, want), kernel).toBeLessThan(1e-5);
      } finally {
        delete gpu.tuning.matmul;
      }
    }
  });

  it('SwiGLU backward into d(gate|up), f32 and f16 weights', async () => {
    const gpu = await testGpu();
    const K = 20;
    const gateUp = randomArray(M * 2 * width, 6, 3);
    const dy = randomArray(M * K, 7);
    const wv = randomArray(K * width, 8, 0.6);
    const want = (dAct: Float64Array) => {
      const out = new Float64Array(M * 2 * width);
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < width; n++) {
          const g = gateUp[m * 2 * width + n]!;
          const u = gateUp[m * 2 * width + width + n]!;
          out[m * 2 * width + n] = dAct[m * width + n]! * u * siluGrad(g);
          out[m * 2 * width + width + n] = dAct[m * width + n]! * siluRef(g);
        }
      }
      return out;
    };
    const epilogue = { activation: { kind: 'backward', act: 'swiglu', y: upload(gpu, gateUp), ldy: 2 * width, width } as const };
    const dGateUp = upload(gpu, new Float32Array(M * 2 * width));
    const got = await runAndRead(gpu, (p) => matmul(gpu, p, { a: upload(gpu, dy), b: upload(gpu, wv), c: dGateUp, ldc: 2 * width, M, N: width, K, epilogue }), dGateUp);
    expect(relError(got, want(matmulRef(dy, wv, M, width, K)))).toBeLessThan(1e-5);

    // f16: W [out = K, in = width + 1 (padded to a multiple of 4 → 28)] as the down projection's weight.
    const inF = 28;
    const words = packHalves(randomArray(K * inF, 9, 0.6));
    const wh = unpackHalves(words);
    const w = { h: tensorOf(gpu.upload(words, 'scratch', 'wh'), [K, inF / 2]), out: K, in: inF };
    const gu = randomArray(M * 2 * inF, 10, 3);
    const e16 = { activation: { kind: 'backward', act: 'swiglu', y: upload(gpu, gu), ldy: 2 * inF, width: inF } as const };
    const d16 = upload(gpu, new Float32Array(M * 2 * inF));
    const got16 = await runAndRead(gpu, (p) => matmulF16Input(gpu, p, M, upload(gpu, dy), K, w, d16, 2 * inF, 0, e16), d16);
    const dAct16 = matmulRef(dy, wh, M, inF, K);
    const want16 = new Float64Array(M * 2 * inF);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < inF; n++) {
        const g = gu[m * 2 * inF + n]!;
        want16[m * 2 * inF + n] = dAct16[m * inF + n]! * gu[m * 2 * inF + inF + n]! * siluGrad(g);
        want16[m * 2 * inF + inF + n] = dAct16[m * inF + n]! * siluRef(g);
      }
    }
    expect(relError(got16, want16)).toBeLessThan(1e-5);

    // f16 forward with gelu_new: C keeps the pre-activation, y gets gelu(C).
    const x = randomArray(M * inF, 11);
    const wf = { h: tensorOf(gpu.upload(words, 'scratch', 'wf'), [K, inF / 2]), out: K, in: inF };
    const c = upload(gpu, new Float32Array(M * K));
    const y = upload(gpu, new Float32Array(M * K));
    await runAndRead(gpu, (p) => matmulF16Forward(gpu, p, M, upload(gpu, x), inF, wf, c, K, { epilogue: { activation: { kind: 'forward', act: 'gelu_new', y, ldy: K } } }), c);
    const pre = matmulRef(x, wh, M, K, inF, { transB: true });
    expect(relError(await runAndRead(gpu, async () => {}, y), pre.map(geluRef))).toBeLessThan(1e-5);
  });
});
