import { describe, expect, it } from 'vitest';
import { matmul } from '../../src/core/kernels/matmul.ts';
import { MATMUL_KERNELS, type MatmulKernel } from '../../src/core/kernels/matmul-configs.ts';
import { randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

interface Case {
  M: number; N: number; K: number; batch: number; transA: boolean; transB: boolean;
  /** Extra elements per stored row (a slice of a wider matrix) and leading offsets, per operand. */
  pad: [number, number, number]; off: [number, number, number];
  /** B shared by every batch (batch stride 0). */
  shareB: boolean;
}

/** Float64 C = alpha·op(A)·op(B) + bias + beta·C over the whole C buffer, from the strides as stored. */
function reference(x: Case, a: Float32Array, b: Float32Array, c0: Float32Array, bias: Float32Array, alpha: number, beta: number): Float64Array {
  const { M, N, K, transA, transB } = x;
  const lda = (transA ? M : K) + x.pad[0];
  const ldb = (transB ? K : N) + x.pad[1];
  const ldc = N + x.pad[2];
  const sA = (transA ? K : M) * lda;
  const sB = x.shareB ? 0 : (transB ? N : K) * ldb;
  const out = Float64Array.from(c0);
  for (let z = 0; z < x.batch; z++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a[x.off[0] + z * sA + (transA ? k * lda + m : m * lda + k)]!;
          const bv = b[x.off[1] + z * sB + (transB ? n * ldb + k : k * ldb + n)]!;
          s += av * bv;
        }
        const i = x.off[2] + z * M * ldc + m * ldc + n;
        out[i] = alpha * s + bias[n]! + beta * c0[i]!;
      }
    }
  }
  return out;
}

async function check(kernel: MatmulKernel, x: Case): Promise<number> {
  const gpu = await testGpu();
  gpu.tuning.matmul = kernel;
  try {
    const { M, N, K, batch, transA, transB } = x;
    const lda = (transA ? M : K) + x.pad[0];
    const ldb = (transB ? K : N) + x.pad[1];
    const ldc = N + x.pad[2];
    const sA = (transA ? K : M) * lda;
    const sB = x.shareB ? 0 : (transB ? N : K) * ldb;
    const a = randomArray(x.off[0] + batch * sA, M * 3 + K);
    const b = randomArray(x.off[1] + (x.shareB ? 1 : batch) * (transB ? N : K) * ldb, N * 5 + K);
    const c0 = randomArray(x.off[2] + batch * M * ldc, 7);
    const bias = randomArray(N, 9);
    const c = upload(gpu, c0);
    const got = await runAndRead(gpu, (p) => matmul(gpu, p, {
      a: { ...upload(gpu, a), offset: x.off[0] }, b: { ...upload(gpu, b), offset: x.off[1] }, c: { ...c, offset: x.off[2] },
      M, N, K, batch, transA, transB, lda, ldb, ldc, batchStrideA: sA, batchStrideB: sB, batchStrideC: M * ldc,
      bias: upload(gpu, bias), alpha: 0.75, beta: 1,
    }), c);
    return relError(got, reference(x, a, b, c0, bias, 0.75, 1));
  } finally {
    delete gpu.tuning.matmul;
  }
}

// Shapes off every tile size (and K=1, K<BK), with two batches on some.
const SHAPES: [number, number, number, number][] = [
  [1, 1, 1, 1], [5, 7, 1, 2], [37, 29, 53, 1], [130, 9, 70, 2], [3, 130, 13, 1], [129, 131, 33, 1], [64, 64, 32, 2],
];

describe('every matmul kernel matches float64', () => {
  for (const kernel of MATMUL_KERNELS) {
    // Aligned layouts take the vec4 loads of the blocked tiles; odd pads and offsets the scalar loads.
    for (const aligned of [true, false]) {
      it(`${kernel}, ${aligned ? 'aligned (vec4 loads)' : 'unaligned strides and offsets'}, every transposition`, async () => {
        for (const [M, N, K, batch] of SHAPES) {
          for (const transA of [false, true]) {
            for (const transB of [false, true]) {
              const x: Case = {
                M, N, K, batch, transA, transB, shareB: batch > 1 && transB,
                pad: aligned ? [4, 0, 8] : [1, 3, 2], off: aligned ? [8, 4, 4] : [3, 1, 5],
              };
              expect(await check(kernel, x), `${kernel} ${M}x${N}x${K}x${batch} transA=${transA} transB=${transB}`).toBeLessThan(1e-5);
            }
          }
        }
      });
    }
  }
});
