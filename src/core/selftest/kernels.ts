import type { Gpu } from '../gpu/gpu.ts';
import { Program } from '../gpu/program.ts';
import { allocTensor, readTensor, uploadTensor } from '../gpu/tensor.ts';
import { attentionForward, attentionRef, causalBounds } from '../kernels/attention.ts';
import { matmul, matmulRef } from '../kernels/matmul.ts';
import { Rng } from '../rng.ts';
import { randomValues as random, relError } from './compare.ts';
import { fusedLoraSelfTest } from './fused.ts';
import { reductionSelfTest } from './reductions.ts';
import { ropeAttentionSelfTest } from './rope-attention.ts';

export interface SelfTestResult {
  readonly name: string;
  /** max |gpu − float64| / max |float64|. */
  readonly relError: number;
  readonly ok: boolean;
}

const TOLERANCE = 1e-4;

/**
 * Runs kernels on odd shapes and compares them with their float64 references: the check the app
 * shows for "is this GPU computing correctly", and what the browser test runs in a Worker.
 */
export async function kernelSelfTest(gpu: Gpu): Promise<SelfTestResult[]> {
  const rng = new Rng(1234);
  const results: SelfTestResult[] = [];
  const saved = gpu.tuning.tiledMatmul;
  const cases = [
    [37, 29, 53, false, false], [33, 67, 16, true, false], [70, 130, 45, true, true], [131, 129, 37, true, 'b128x128'], [45, 70, 19, false, 'b64x64'],
  ] as const;
  for (const [M, N, K, transB, tiled] of cases) {
    // The later cases force the workgroup-tiled and register-blocked kernels, whatever the adapter would pick.
    gpu.tuning.tiledMatmul = tiled === true ? true : saved;
    if (typeof tiled === 'string') gpu.tuning.matmul = tiled;
    else delete gpu.tuning.matmul;
    const a = random(M * K, rng);
    const b = random(K * N, rng);
    const c = allocTensor(gpu, [M * N], 'scratch', 'selftest-c');
    const p = new Program('selftest');
    await matmul(gpu, p, { a: uploadTensor(gpu, a, [M * K], 'scratch', 'a'), b: uploadTensor(gpu, b, [K * N], 'scratch', 'b'), c, M, N, K, transB });
    gpu.run(p);
    const e = relError(await readTensor(gpu, c), matmulRef(a, b, M, N, K, { transB }));
    const kernel = tiled === true ? ' (tiled)' : tiled ? ` (${tiled})` : '';
    results.push({ name: `matmul ${M}x${N}x${K}${transB ? ' Bᵀ' : ''}${kernel}`, relError: e, ok: e < TOLERANCE });
  }
  gpu.tuning.tiledMatmul = saved;
  delete gpu.tuning.matmul;
  // head_dim 8, and Gemma's 256 (the wide attention kernels).
  for (const hd of [8, 256]) {
    const [S, H, KVH] = [9, 4, 2];
    const q = random(S * H * hd, rng);
    const k = random(S * KVH * hd, rng);
    const v = random(S * KVH * hd, rng);
    const { query } = causalBounds(S, new Uint32Array(S));
    const o = allocTensor(gpu, [S * H * hd], 'scratch', 'o');
    const p = new Program('selftest');
    await attentionForward(gpu, p, {
      T: S, Sq: S, Sk: S, heads: H, kvHeads: KVH, headDim: hd,
      q: { t: uploadTensor(gpu, q, [q.length], 'scratch', 'q'), stride: H * hd },
      k: { t: uploadTensor(gpu, k, [k.length], 'scratch', 'k'), stride: KVH * hd },
      v: { t: uploadTensor(gpu, v, [v.length], 'scratch', 'v'), stride: KVH * hd },
      o: { t: o, stride: H * hd }, lse: allocTensor(gpu, [S * H], 'scratch', 'lse'),
      bounds: uploadTensor(gpu, query, [2 * S], 'scratch', 'bounds'),
    });
    gpu.run(p);
    const e = relError(await readTensor(gpu, o), attentionRef(q, k, v, S, S, H, KVH, hd, query));
    results.push({ name: `attention ${S} tokens, ${H}/${KVH} heads of ${hd}`, relError: e, ok: e < TOLERANCE });
  }
  const rope = await ropeAttentionSelfTest(gpu, rng);
  if (rope) results.push({ ...rope, ok: rope.relError < TOLERANCE });
  const fused = await fusedLoraSelfTest(gpu, rng);
  results.push({ ...fused, ok: fused.relError < TOLERANCE });
  for (const r of await reductionSelfTest(gpu, rng)) results.push({ ...r, ok: r.relError < TOLERANCE });
  return results;
}
