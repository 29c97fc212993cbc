import type { Gpu } from '../gpu/gpu.ts';
import { Program } from '../gpu/program.ts';
import { allocTensor, readTensor, tensorOf, uploadTensor } from '../gpu/tensor.ts';
import { matmul, matmulRef } from '../kernels/matmul.ts';
import { lowRankRef } from '../kernels/matmul-lowrank.ts';
import type { Rng } from '../rng.ts';
import { randomValues, relError } from './compare.ts';

/**
 * Fused LoRA on odd shapes: y = x·Wᵀ + s·Σ t·Bᵀ over three column ranges (q|k|v-like), against
 * float64, with the matmul kernel the adapter would pick. Returns max relative error.
 */
export async function fusedLoraSelfTest(gpu: Gpu, rng: Rng): Promise<{ name: string; relError: number }> {
  const [M, N, K, r, s] = [37, 29, 53, 4, 1.5];
  const random = (n: number) => randomValues(n, rng);
  const ranges = [[0, 10], [10, 10], [20, 9]] as const;
  const x = random(M * K);
  const w = random(N * K);
  const ts = ranges.map(() => random(M * r));
  const bs = ranges.map(([, cols]) => random(cols * r));
  const tAll = new Float32Array(ts.length * M * r);
  ts.forEach((t, i) => tAll.set(t, i * M * r));
  const bAll = new Float32Array(N * r);
  bs.forEach((b, i) => bAll.set(b, ranges[i]![0] * r));
  const tBuf = uploadTensor(gpu, tAll, [tAll.length], 'scratch', 'selftest-t');
  const bBuf = uploadTensor(gpu, bAll, [bAll.length], 'scratch', 'selftest-b');
  const terms = ranges.map(([col, cols], i) => ({
    col, cols, u: tensorOf(tBuf.buffer, [M, r], i * M * r), ldu: r, v: tensorOf(bBuf.buffer, [cols, r], col * r), sVn: r, sVk: 1,
  }));
  const c = allocTensor(gpu, [M * N], 'scratch', 'selftest-c');
  const p = new Program('selftest');
  await matmul(gpu, p, {
    a: uploadTensor(gpu, x, [x.length], 'scratch', 'x'), b: uploadTensor(gpu, w, [w.length], 'scratch', 'w'), transB: true, c, M, N, K,
    epilogue: { lowRank: { r, scale: s, terms } },
  });
  gpu.run(p);
  const got = await readTensor(gpu, c);
  const want = lowRankRef(matmulRef(x, w, M, N, K, { transB: true }), M, N, r, s,
    ranges.map(([col, cols], i) => ({ col, cols, u: ts[i]!, v: bs[i]!, vRowsAreN: true })));
  return { name: `matmul ${M}x${N}x${K} Bᵀ + fused LoRA (r ${r}, 3 modules)`, relError: relError(got, want) };
}
