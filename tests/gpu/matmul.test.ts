import { describe, expect, it } from 'vitest';
import { matmul, matmulRef } from '../../src/core/kernels/matmul.ts';
import { allocTensor } from '../../src/core/gpu/tensor.ts';
import { randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

describe('matmul', () => {
  const shapes: [number, number, number, number][] = [
    [1, 1, 1, 1], [5, 7, 3, 1], [37, 29, 53, 1], [33, 65, 17, 3], [130, 9, 70, 2], [3, 130, 257, 1],
    // K % 4 == 0 takes the vec4 path for A·Bᵀ
    [37, 29, 52, 1], [33, 67, 16, 3], [5, 3, 4, 2],
  ];
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`odd shapes, transA=${transA} transB=${transB}`, async () => {
        const gpu = await testGpu();
        for (const [M, N, K, batch] of shapes) {
          const a = randomArray(batch * M * K, M + K);
          const b = randomArray(batch * K * N, N * 7 + K);
          const bias = randomArray(N, 99);
          const c0 = randomArray(batch * M * N, 5);
          const c = upload(gpu, c0);
          const got = await runAndRead(gpu, (p) => matmul(gpu, p, {
            a: upload(gpu, a), b: upload(gpu, b), c, M, N, K, batch, transA, transB, bias: upload(gpu, bias), alpha: 0.5, beta: 1,
          }), c);
          const want = matmulRef(a, b, M, N, K, { transA, transB, batch, bias, alpha: 0.5, beta: 1, c: c0 });
          expect(relError(got, want), `${M}x${N}x${K}x${batch}`).toBeLessThan(1e-4);
        }
      });
    }
  }

  it('broadcasts a shared weight over the batch and honours offsets', async () => {
    const gpu = await testGpu();
    const [M, N, K, batch] = [6, 11, 13, 4];
    const a = randomArray(batch * M * K, 3);
    const w = randomArray(N * K, 4);
    const padded = new Float32Array(7 + N * K);
    padded.set(w, 7);
    const bw = upload(gpu, padded);
    const c = allocTensor(gpu, [batch * M * N], 'scratch', 'c');
    const got = await runAndRead(gpu, (p) => matmul(gpu, p, {
      a: upload(gpu, a), b: { ...bw, offset: 7 }, transB: true, c, M, N, K, batch, batchStrideB: 0,
    }), c);
    const want = new Float64Array(batch * M * N);
    for (let z = 0; z < batch; z++) {
      want.set(matmulRef(a.subarray(z * M * K, (z + 1) * M * K), w, M, N, K, { transB: true }), z * M * N);
    }
    expect(relError(got, want)).toBeLessThan(1e-4);
  });

  it('reads and writes column slices of wider matrices (lda, ldb, ldc)', async () => {
    const gpu = await testGpu();
    for (const [K, colA] of [[12, 4], [13, 3]] as const) {
      const [M, N, W, WC] = [9, 6, K + 8, 20];
      const wide = randomArray(M * W, 11); // A is columns [colA, colA+K) of an [M, W] matrix
      const bT = randomArray(N * K, 12); // B stored [N, K]
      const c0 = randomArray(M * WC, 13); // C is columns [8, 8+N) of an [M, WC] matrix
      const c = upload(gpu, c0);
      const got = await runAndRead(gpu, (p) => matmul(gpu, p, {
        a: { ...upload(gpu, wide), offset: colA }, lda: W, b: upload(gpu, bT), transB: true,
        c: { ...c, offset: 8 }, ldc: WC, M, N, K, beta: 1,
      }), c);
      const a = new Float32Array(M * K);
      for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) a[m * K + k] = wide[m * W + colA + k]!;
      const prod = matmulRef(a, bT, M, N, K, { transB: true });
      const want = Float64Array.from(c0);
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) want[m * WC + 8 + n]! += prod[m * N + n]!;
      expect(relError(got, want), `K=${K}`).toBeLessThan(1e-4);
    }
  });

  it('the 64x64 workgroup-tiled kernel (tile64, forced by tiledMatmul) matches float64 on odd shapes in every transposition', async () => {
    const gpu = await testGpu();
    gpu.tuning.tiledMatmul = true;
    try {
      for (const [M, N, K, batch] of [[64, 64, 32, 1], [70, 130, 45, 2], [129, 65, 200, 1]] as const) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const a = randomArray(batch * M * K, M + K + 1);
            const b = randomArray(batch * K * N, N + 3);
            const bias = randomArray(N, 4);
            const c0 = randomArray(batch * M * N, 5);
            const c = upload(gpu, c0);
            const got = await runAndRead(gpu, (p) => matmul(gpu, p, { a: upload(gpu, a), b: upload(gpu, b), c, M, N, K, batch, transA, transB, bias: upload(gpu, bias), alpha: 0.75, beta: 1 }), c);
            expect(relError(got, matmulRef(a, b, M, N, K, { transA, transB, batch, bias, alpha: 0.75, beta: 1, c: c0 })), `${M}x${N}x${K} ${transA} ${transB}`).toBeLessThan(1e-4);
          }
        }
      }
    } finally {
      delete gpu.tuning.tiledMatmul;
    }
  });
});
