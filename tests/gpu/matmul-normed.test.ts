import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/core/gpu/gpu.ts';
import { tensorOf } from '../../src/core/gpu/tensor.ts';
import { matmul, matmulRef } from '../../src/core/kernels/matmul.ts';
import type { MatmulKernel } from '../../src/core/kernels/matmul-configs.ts';
import { matmulF16Forward, packHalves, unpackHalves } from '../../src/core/kernels/matmul-f16.ts';
import { normedRef, wrapReads, type NormedOperand } from '../../src/core/kernels/matmul-prologue.ts';
import { dequantizeNf4, matmulQ4Forward, quantizeNf4 } from '../../src/core/kernels/matmul-q4.ts';
import { dequantizeRows, matmulQ8Forward, quantizeRows } from '../../src/core/kernels/matmul-q8.ts';
import { normForward, normStats, type NormKind } from '../../src/core/kernels/norm.ts';
import { randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

interface Norm {
  readonly name: string;
  readonly kind: NormKind;
  readonly offset: number;
  readonly bias: boolean;
}
const NORMS: Norm[] = [
  { name: 'RMSNorm', kind: 'rmsnorm', offset: 0, bias: false },
  { name: 'RMSNorm (Gemma, 1 + γ)', kind: 'rmsnorm', offset: 1, bias: false },
  { name: 'LayerNorm (mean, β)', kind: 'layernorm', offset: 0, bias: true },
];

/** Float64 statistics of the rows of x [rows, ld], stored as the norm forward stores them. */
function stats(kind: NormKind, x: Float32Array, rows: number, ld: number, eps = 1e-5): Float32Array {
  const per = kind === 'layernorm' ? 2 : 1;
  const out = new Float32Array(rows * per);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    if (per === 2) {
      for (let c = 0; c < ld; c++) mean += x[r * ld + c]!;
      mean /= ld;
    }
    let q = 0;
    for (let c = 0; c < ld; c++) q += (x[r * ld + c]! - mean) ** 2;
    if (per === 2) out[2 * r] = mean;
    out[r * per + per - 1] = 1 / Math.sqrt(q / ld + eps);
  }
  return out;
}

/** A [rows, ld] input stored at `offset`, its statistics, γ and β (in one buffer), as a view and as the float64 matrix it presents. */
function normedInput(gpu: Gpu, n: Norm, rows: number, ld: number, offset: number, seed: number) {
  const x = randomArray(rows * ld, seed, 3);
  for (let c = 0; c < ld; c++) x[c] = x[c]! + 2; // a row with a clear mean
  const xs = new Float32Array(offset + x.length);
  xs.set(x, offset);
  const st = stats(n.kind, x, rows, ld);
  const stPadded = new Float32Array(st.length + 5);
  stPadded.set(st, 5);
  const gamma = randomArray(ld, seed + 1);
  const beta = randomArray(ld, seed + 2);
  const params = new Float32Array(7 + 2 * ld);
  params.set(gamma, 7);
  params.set(beta, 7 + ld);
  const pb = upload(gpu, params);
  const view: NormedOperand = {
    kind: n.kind, x: tensorOf(upload(gpu, xs).buffer, [rows, ld], offset), ld,
    stats: tensorOf(upload(gpu, stPadded).buffer, [st.length], 5),
    weight: tensorOf(pb.buffer, [ld], 7), bias: n.bias ? tensorOf(pb.buffer, [ld], 7 + ld) : undefined, weightOffset: n.offset,
  };
  return { view, dense: normedRef(n.kind, x, st, gamma, n.bias ? beta : null, rows, ld, ld, n.offset) };
}

describe('the statistics-only norm forward', () => {
  for (const kind of ['rmsnorm', 'layernorm'] as const) {
    it(`${kind}: writes the statistics the full forward writes, and nothing else`, async () => {
      const gpu = await testGpu();
      const [rows, D] = [7, 93];
      const x = upload(gpu, randomArray(rows * D, 5, 2));
      const w = upload(gpu, randomArray(D, 6));
      const b = upload(gpu, randomArray(D, 7));
      const per = kind === 'layernorm' ? 2 : 1;
      const args = (stats: ReturnType<typeof upload>) => ({ kind, rows, D, eps: 1e-5, x, weight: w, bias: kind === 'layernorm' ? b : undefined, stats });
      const full = upload(gpu, new Float32Array(rows * per));
      await runAndRead(gpu, (p) => normForward(gpu, p, args(full), upload(gpu, new Float32Array(rows * D))), full);
      const only = upload(gpu, new Float32Array(rows * per + 3).fill(9));
      const got = await runAndRead(gpu, (p) => normStats(gpu, p, args(tensorOf(only.buffer, [rows * per], 3))), only);
      expect(Array.from(got.subarray(0, 3))).toEqual([9, 9, 9]);
      expect(Array.from(got.subarray(3))).toEqual(Array.from(await runAndRead(gpu, async () => {}, full)));
      expect(relError(got.subarray(3), stats(kind, await runAndRead(gpu, async () => {}, x), rows, D))).toBeLessThan(1e-5);
    });
  }
});

describe('wrapReads', () => {
  it('wraps every read of the operand with its nested brackets, and nothing else', () => {
    const src = 'let v = a[i + idx[j]] + ba[2] + q.a[1] + a[b[k]][3]; // a[unbalanced\nlet w = a[(m >> 2u)];';
    const { code, reads } = wrapReads(src, 'a');
    expect(reads).toBe(3);
    expect(code).toBe('let v = nv_a(i + idx[j]) + ba[2] + q.a[1] + nv_a(b[k])[3]; \nlet w = nv_a((m >> 2u));');
  });
});

/**
 * Every f32 kernel family: reg4 (and its vec4 A·Bᵀ variant), tile64, and the register-blocked template at its smallest
 * and largest tile (b128x64 and b64x64 are the same WGSL with other constants; each spliced pipeline costs lavapipe
 * tens of seconds to compile, so the suite does not pay for all four).
 */
const KERNELS: readonly MatmulKernel[] = ['reg4', 'tile64', 'b32x32', 'b128x128'];

describe('matmul reading an operand through a norm, every f32 kernel family, A and B, transposed and not', () => {
  // ld 44 at offset 8 takes the vec4 paths; ld 43 at offset 3 the scalar ones. Odd row counts throughout.
  for (const kernel of KERNELS) {
    for (const [ld, off] of [[44, 8], [43, 3]] as const) {
      it(`${kernel}: ld ${ld}, offset ${off}`, async () => {
        const gpu = await testGpu();
        gpu.tuning.matmul = kernel;
        try {
          const T = 37;
          for (const [i, n] of NORMS.entries()) {
            const { view, dense } = normedInput(gpu, n, T, ld, off, 10 * i + ld);
            const x = view.x;
            const N = 29;
            // A, not transposed: y = x̂·Wᵀ + bias (the forward).
            const w = randomArray(N * ld, 2);
            const bias = randomArray(N, 3);
            const y = upload(gpu, new Float32Array(T * N));
            const gotY = await runAndRead(gpu, (p) => matmul(gpu, p, {
              a: x, lda: ld, normA: view, b: upload(gpu, w), transB: true, c: y, M: T, N, K: ld, bias: upload(gpu, bias),
            }), y);
            expect(relError(gotY, matmulRef(dense, w, T, N, ld, { transB: true, bias })), `${n.name} A`).toBeLessThan(1e-5);
            // B, not transposed: dW += dyᵀ·x̂ (the weight gradient).
            const dy = randomArray(T * N, 4);
            const dw0 = randomArray(N * ld, 5);
            const dw = upload(gpu, dw0);
            const gotDw = await runAndRead(gpu, (p) => matmul(gpu, p, {
              a: upload(gpu, dy), transA: true, b: x, ldb: ld, normB: view, c: dw, M: N, N: ld, K: T, beta: 1,
            }), dw);
            const dyT = new Float64Array(N * T);
            for (let t = 0; t < T; t++) for (let o = 0; o < N; o++) dyT[o * T + t] = dy[t * N + o]!;
            expect(relError(gotDw, matmulRef(dyT, dense, N, ld, T, { beta: 1, c: dw0 })), `${n.name} B`).toBeLessThan(1e-5);
            // A, transposed: C = x̂ᵀ·D [ld, 11].
            const d = randomArray(T * 11, 6);
            const c1 = upload(gpu, new Float32Array(ld * 11));
            const gotC1 = await runAndRead(gpu, (p) => matmul(gpu, p, {
              a: x, transA: true, lda: ld, normA: view, b: upload(gpu, d), c: c1, M: ld, N: 11, K: T,
            }), c1);
            expect(relError(gotC1, matmulRef(dense, d, ld, 11, T, { transA: true })), `${n.name} Aᵀ`).toBeLessThan(1e-5);
            // B, transposed: C = E·x̂ᵀ [13, T].
            const e = randomArray(13 * ld, 7);
            const c2 = upload(gpu, new Float32Array(13 * T));
            const gotC2 = await runAndRead(gpu, (p) => matmul(gpu, p, {
              a: upload(gpu, e), b: x, transB: true, ldb: ld, normB: view, c: c2, M: 13, N: T, K: ld,
            }), c2);
            expect(relError(gotC2, matmulRef(e, dense, 13, T, ld, { transB: true })), `${n.name} Bᵀ`).toBeLessThan(1e-5);
          }
        } finally {
          gpu.tuning.matmul = undefined;
        }
      });
    }
  }

  it('a column slice of the normed matrix (the γ column is the storage column)', async () => {
    const gpu = await testGpu();
    const [T, ld, col, K, N] = [21, 52, 12, 36, 9];
    const { view, dense } = normedInput(gpu, NORMS[2]!, T, ld, 4, 77);
    const w = randomArray(N * K, 8);
    const y = upload(gpu, new Float32Array(T * N));
    const got = await runAndRead(gpu, (p) => matmul(gpu, p, {
      a: { ...view.x, offset: view.x.offset + col }, lda: ld, normA: view, b: upload(gpu, w), transB: true, c: y, M: T, N, K,
    }), y);
    const slice = new Float64Array(T * K);
    for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) slice[t * K + k] = dense[t * ld + col + k]!;
    expect(relError(got, matmulRef(slice, w, T, N, K, { transB: true }))).toBeLessThan(1e-5);
  });
});

describe('half and quantised base weights read activations through a norm', () => {
  const [T, N] = [19, 27];
  const base = (gpu: Gpu, ld: number) => {
    const w = randomArray(N * ld, 9);
    const bias = randomArray(N, 10);
    return { w, b: upload(gpu, bias), want: (dense: Float64Array, wd: ArrayLike<number>) => matmulRef(dense, wd, T, N, ld, { transB: true, bias }) };
  };
  // One family per test: each spliced pipeline compiles on its first dispatch. in 68: a partial NF4 group; 100: one and a tail.
  for (const ld of [68, 100]) {
    it(`f16 weights (in ${ld}), every norm`, async () => {
      const gpu = await testGpu();
      expect(gpu.features.has('shader-f16'), 'this adapter offers shader-f16').toBe(true);
      for (const [i, n] of NORMS.entries()) {
        const { view, dense } = normedInput(gpu, n, T, ld, 4, 30 + i);
        const { w, b, want } = base(gpu, ld);
        const words = packHalves(w);
        const h = { h: tensorOf(gpu.upload(words, 'weights', 'f16'), [words.length]), out: N, in: ld };
        const y = upload(gpu, new Float32Array(T * N));
        const got = await runAndRead(gpu, (p) => matmulF16Forward(gpu, p, T, view.x, ld, h, y, N, { bias: b, norm: view }), y);
        expect(relError(got, want(dense, unpackHalves(words))), n.name).toBeLessThan(1e-5);
      }
    });

    it(`int8 weights (in ${ld}), every norm`, async () => {
      const gpu = await testGpu();
      for (const [i, n] of NORMS.entries()) {
        const { view, dense } = normedInput(gpu, n, T, ld, 4, 30 + i);
        const { w, b, want } = base(gpu, ld);
        const q8 = quantizeRows(w, N, ld);
        const w8 = { q: tensorOf(gpu.upload(q8.words, 'weights', 'q8'), [q8.words.length]), scale: upload(gpu, q8.scales), out: N, in: ld };
        const y = upload(gpu, new Float32Array(T * N));
        const got = await runAndRead(gpu, (p) => matmulQ8Forward(gpu, p, T, view.x, ld, w8, y, N, { bias: b, norm: view }), y);
        expect(relError(got, want(dense, dequantizeRows(q8.words, q8.scales, N, ld))), n.name).toBeLessThan(1e-5);
      }
    });

    it(`NF4 weights (in ${ld}), every norm`, async () => {
      const gpu = await testGpu();
      for (const [i, n] of NORMS.entries()) {
        const { view, dense } = normedInput(gpu, n, T, ld, 4, 30 + i);
        const { w, b, want } = base(gpu, ld);
        const q4 = quantizeNf4(w, N, ld);
        const w4 = { q4: tensorOf(gpu.upload(q4.words, 'weights', 'q4'), [q4.words.length]), scale: upload(gpu, q4.scales), out: N, in: ld };
        const y = upload(gpu, new Float32Array(T * N));
        const got = await runAndRead(gpu, (p) => matmulQ4Forward(gpu, p, T, view.x, ld, w4, y, N, { bias: b, norm: view }), y);
        expect(relError(got, want(dense, dequantizeNf4(q4.words, q4.scales, N, ld))), n.name).toBeLessThan(1e-5);
      }
    });
  }
});
