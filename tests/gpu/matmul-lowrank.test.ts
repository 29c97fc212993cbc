import { describe, expect, it } from 'vitest';
import { tensorOf } from '../../src/core/gpu/tensor.ts';
import { matmul, matmulRef } from '../../src/core/kernels/matmul.ts';
import { MATMUL_KERNELS } from '../../src/core/kernels/matmul-configs.ts';
import { matmulF16Forward, matmulF16Input, packHalves, unpackHalves } from '../../src/core/kernels/matmul-f16.ts';
import { lowRankRef, type LowRankEpilogue, type LowRankRefTerm } from '../../src/core/kernels/matmul-lowrank.ts';
import type { Gpu } from '../../src/core/gpu/gpu.ts';
import { randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

const r = 5;
const scale = 1.75;

/** Packs blocks into one array with a gap before each (so offsets are exercised), returning their offsets. */
function pack(blocks: Float32Array[]): { data: Float32Array; offsets: number[] } {
  const offsets: number[] = [];
  let n = 0;
  for (const b of blocks) {
    n += 3;
    offsets.push(n);
    n += b.length;
  }
  const data = new Float32Array(n);
  blocks.forEach((b, i) => data.set(b, offsets[i]!));
  return { data, offsets };
}

/** LoRA's forward terms for q|k|v-like column ranges of an output of width N: U = t [M, r], V = B [cols, r]. */
function forwardTerms(gpu: Gpu, M: number, ranges: [number, number][]) {
  const us = ranges.map((_, i) => randomArray(M * r, 40 + i));
  const vs = ranges.map(([, cols], i) => randomArray(cols * r, 50 + i));
  const U = pack(us);
  const V = pack(vs);
  const ub = upload(gpu, U.data);
  const vb = upload(gpu, V.data);
  const epilogue: LowRankEpilogue = {
    r, scale, terms: ranges.map(([col, cols], i) => ({
      col, cols, u: tensorOf(ub.buffer, [M, r], U.offsets[i]), ldu: r, v: tensorOf(vb.buffer, [cols, r], V.offsets[i]), sVn: r, sVk: 1,
    })),
  };
  const ref: LowRankRefTerm[] = ranges.map(([col, cols], i) => ({ col, cols, u: us[i]!, v: vs[i]!, vRowsAreN: true }));
  return { epilogue, ref };
}

/** The input gradient's terms: every module covers all N input columns; U = dt [M, r], V = A [r, N]. */
function inputTerms(gpu: Gpu, M: number, N: number, count: number) {
  const us = Array.from({ length: count }, (_, i) => randomArray(M * r, 60 + i));
  const vs = Array.from({ length: count }, (_, i) => randomArray(r * N, 70 + i));
  const U = pack(us);
  const V = pack(vs);
  const ub = upload(gpu, U.data);
  const vb = upload(gpu, V.data);
  const epilogue: LowRankEpilogue = {
    r, scale: 1, terms: us.map((_, i) => ({
      col: 0, cols: N, u: tensorOf(ub.buffer, [M, r], U.offsets[i]), ldu: r, v: tensorOf(vb.buffer, [r, N], V.offsets[i]), sVn: 1, sVk: N,
    })),
  };
  const ref: LowRankRefTerm[] = us.map((u, i) => ({ col: 0, cols: N, u, v: vs[i]!, vRowsAreN: false }));
  return { epilogue, ref };
}

describe('matmul with a fused low-rank (LoRA) epilogue, every f32 kernel', () => {
  // K = 44 takes reg4's vec4 A·Bᵀ path, K = 43 the scalar one; odd M and N everywhere.
  for (const kernel of MATMUL_KERNELS) {
    for (const K of kernel === 'reg4' ? [43, 44] : [43]) {
      it(`${kernel}: y = x·Wᵀ + bias + C + s·Σ t·Bᵀ over three column ranges, and dX = dY·W + Σ dt·A (K=${K})`, async () => {
        const gpu = await testGpu();
        gpu.tuning.matmul = kernel;
        try {
          const M = 37;
          const N = 70;
          const x = randomArray(M * K, 1);
          const w = randomArray(N * K, 2);
          const bias = randomArray(N, 3);
          const c0 = randomArray(M * N, 4);
          const f = forwardTerms(gpu, M, [[0, 30], [30, 20], [50, 20]]);
          const c = upload(gpu, c0);
          const got = await runAndRead(gpu, (p) => matmul(gpu, p, {
            a: upload(gpu, x), b: upload(gpu, w), transB: true, c, M, N, K, bias: upload(gpu, bias), beta: 1, epilogue: { lowRank: f.epilogue },
          }), c);
          const base = matmulRef(x, w, M, N, K, { transB: true, bias, beta: 1, c: c0 });
          expect(relError(got, lowRankRef(base, M, N, r, scale, f.ref))).toBeLessThan(1e-5);

          // Input gradient: dY [M, N] · W [N, K] → [M, K], two modules' dt·A added.
          const dy = randomArray(M * N, 5);
          const g = inputTerms(gpu, M, K, 2);
          const dx = upload(gpu, new Float32Array(M * K));
          const gotDx = await runAndRead(gpu, (p) => matmul(gpu, p, { a: upload(gpu, dy), b: upload(gpu, w), c: dx, M, N: K, K: N, epilogue: { lowRank: g.epilogue } }), dx);
          const baseDx = matmulRef(dy, w, M, K, N);
          expect(relError(gotDx, lowRankRef(baseDx, M, K, r, 1, g.ref))).toBeLessThan(1e-5);
        } finally {
          delete gpu.tuning.matmul;
        }
      });
    }
  }
});

describe('f16-weight matmul with the low-rank epilogue', () => {
  it('forward (three column ranges) and input gradient (two modules), odd rows', async () => {
    const gpu = await testGpu();
    const [M, N, K] = [33, 65, 20];
    const x = randomArray(M * K, 6);
    const words = packHalves(randomArray(N * K, 7));
    const wh = unpackHalves(words);
    const w = { h: tensorOf(gpu.upload(words, 'scratch', 'wh'), [N, K / 2]), out: N, in: K };
    const f = forwardTerms(gpu, M, [[0, 33], [33, 16], [49, 16]]);
    const y = upload(gpu, new Float32Array(M * N));
    const got = await runAndRead(gpu, (p) => matmulF16Forward(gpu, p, M, upload(gpu, x), K, w, y, N, { epilogue: { lowRank: f.epilogue } }), y);
    expect(relError(got, lowRankRef(matmulRef(x, wh, M, N, K, { transB: true }), M, N, r, scale, f.ref))).toBeLessThan(1e-5);

    const dy = randomArray(M * N, 8);
    const g = inputTerms(gpu, M, K, 2);
    const dx = upload(gpu, new Float32Array(M * K));
    const gotDx = await runAndRead(gpu, (p) => matmulF16Input(gpu, p, M, upload(gpu, dy), N, w, dx, K, 0, { lowRank: g.epilogue }), dx);
    expect(relError(gotDx, lowRankRef(matmulRef(dy, wh, M, K, N), M, K, r, 1, g.ref))).toBeLessThan(1e-5);
  });
});
