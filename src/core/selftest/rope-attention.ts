import type { Gpu } from '../gpu/gpu.ts';
import { Program } from '../gpu/program.ts';
import { allocTensor, readTensor, uploadTensor } from '../gpu/tensor.ts';
import { attentionForward, attentionRef, causalBounds, ropeInAttention } from '../kernels/attention.ts';
import { ropeRef, ropeTable } from '../kernels/rope.ts';
import type { Rng } from '../rng.ts';
import { randomValues, relError } from './compare.ts';

/**
 * Attention with RoPE applied as q and k load (the training path), over two packed examples of a
 * fused q|k|v row on GQA heads, against float64 rope then attention. Null where the adapter keeps
 * the separate rope pass.
 */
export async function ropeAttentionSelfTest(gpu: Gpu, rng: Rng): Promise<{ name: string; relError: number } | null> {
  const [S, H, KVH, hd] = [13, 4, 2, 8];
  if (!ropeInAttention(gpu, hd, S, S)) return null;
  const W = (H + 2 * KVH) * hd;
  const qkv = randomValues(S * W, rng);
  const segments = Uint32Array.from({ length: S }, (_, s) => (s < 5 ? 0 : 1));
  const positions = Uint32Array.from(segments, (seg, s) => (seg ? s - 5 : s));
  const invFreq = Float64Array.from({ length: hd / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / hd));
  const { query } = causalBounds(S, segments);
  const qkvT = uploadTensor(gpu, qkv, [qkv.length], 'scratch', 'selftest-qkv');
  const view = (col: number) => ({ t: { ...qkvT, offset: col }, stride: W });
  const o = allocTensor(gpu, [S * H * hd], 'scratch', 'selftest-o');
  const p = new Program('selftest');
  await attentionForward(gpu, p, {
    T: S, Sq: S, Sk: S, heads: H, kvHeads: KVH, headDim: hd,
    q: view(0), k: view(H * hd), v: view((H + KVH) * hd), o: { t: o, stride: H * hd },
    lse: allocTensor(gpu, [S * H], 'scratch', 'selftest-lse'), bounds: uploadTensor(gpu, query, [2 * S], 'scratch', 'bounds'),
    rope: {
      positions: uploadTensor(gpu, positions, [S], 'scratch', 'positions'),
      table: uploadTensor(gpu, ropeTable(invFreq, S), [S * hd], 'scratch', 'rope'), maxPositions: S,
    },
  });
  gpu.run(p);
  const column = (col: number, width: number) => Float64Array.from({ length: S * width }, (_, i) => qkv[Math.floor(i / width) * W + col + (i % width)]!);
  const q = ropeRef(column(0, H * hd), positions, invFreq, H, hd);
  const k = ropeRef(column(H * hd, KVH * hd), positions, invFreq, KVH, hd);
  const want = attentionRef(q, k, column((H + KVH) * hd, KVH * hd), S, S, H, KVH, hd, query);
  return { name: `attention ${S} tokens, ${H}/${KVH} heads of ${hd}, RoPE on load`, relError: relError(await readTensor(gpu, o), want) };
}
