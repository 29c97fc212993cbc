import { describe, expect, it } from 'vitest';
import { attentionBackward, attentionForward, attentionRef, causalBounds } from '../../src/core/kernels/attention.ts';
import { allocTensor, tensorOf, uploadTensor } from '../../src/core/gpu/tensor.ts';
import { splitQkv as split } from './attention-cases.ts';
import { dotWith, numericGrad, randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

describe('attention', () => {
  const cases = [
    { name: 'GQA 6/2 heads, hd 12, two sequences of 7', B: 2, S: 7, H: 6, KVH: 2, hd: 12, segments: null },
    { name: 'MHA 3 heads, hd 8, packed examples', B: 1, S: 9, H: 3, KVH: 3, hd: 8, segments: [0, 0, 0, 1, 1, 2, 2, 2, 2] },
    { name: 'hd 64, one sequence of 5', B: 1, S: 5, H: 2, KVH: 1, hd: 64, segments: null },
  ];
  for (const c of cases) {
    it(`${c.name}: forward vs float64, backward vs finite differences`, async () => {
      const gpu = await testGpu();
      const { B, S, H, KVH, hd } = c;
      const T = B * S;
      const W = (H + 2 * KVH) * hd;
      const qkv = randomArray(T * W, T + hd, 1.5);
      const { query, key } = causalBounds(S, c.segments ?? new Array(T).fill(0));
      const qkvT = upload(gpu, qkv);
      const view = (col: number) => ({ t: { ...qkvT, offset: col }, stride: W });
      const o = allocTensor(gpu, [T * H * hd], 'scratch', 'o');
      const args = {
        T, Sq: S, Sk: S, heads: H, kvHeads: KVH, headDim: hd,
        q: view(0), k: view(H * hd), v: view((H + KVH) * hd), o: { t: o, stride: H * hd },
        lse: allocTensor(gpu, [T * H], 'scratch', 'lse'),
        bounds: tensorOf(gpu.upload(query, 'scratch', 'bounds'), [T * 2]),
      };
      const ref = (x: ArrayLike<number>) => {
        const s = split(x, T, H, KVH, hd);
        return attentionRef(s.q, s.k, s.v, T, S, H, KVH, hd, query);
      };
      const got = await runAndRead(gpu, (p) => attentionForward(gpu, p, args), o);
      expect(relError(got, ref(qkv))).toBeLessThan(1e-4);

      const w = randomArray(T * H * hd, 77);
      const grad = allocTensor(gpu, [T * W], 'scratch', 'grad');
      const gotGrad = await runAndRead(gpu, (p) => attentionBackward(gpu, p, {
        ...args, dO: uploadTensor(gpu, w, [w.length], 'scratch', 'dO'),
        keyBounds: tensorOf(gpu.upload(key, 'scratch', 'kb'), [T * 2]),
        delta: allocTensor(gpu, [T * H], 'scratch', 'delta'), grad,
      }), grad);
      const loss = dotWith(w);
      expect(relError(gotGrad, numericGrad((x) => loss(ref(x)), qkv))).toBeLessThan(1e-4);
    });
  }

  it('packed examples never attend across a boundary', () => {
    const { query, key } = causalBounds(5, [0, 0, 1, 1, 1]);
    expect(Array.from(query)).toEqual([0, 0, 0, 1, 2, 2, 2, 3, 2, 4]);
    expect(Array.from(key)).toEqual([0, 1, 1, 1, 2, 4, 3, 4, 4, 4]);
  });
});
