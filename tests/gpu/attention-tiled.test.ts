import { describe, expect, it } from 'vitest';
import { attentionBackward, attentionForward, attentionRef } from '../../src/core/kernels/attention.ts';
import { attentionTile, useTiledAttention } from '../../src/core/kernels/attention-tiled.ts';
import { Gpu } from '../../src/core/gpu/gpu.ts';
import { allocTensor, tensorOf, uploadTensor } from '../../src/core/gpu/tensor.ts';
import { dotWith, numericGrad, randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';
import { backwardRef, boundsOf, split, type Case } from './attention-cases.ts';

/** Forward o and backward d(q|k|v) on the GPU, with the tiled kernels or the per-row ones. */
async function run(gpu: Gpu, c: Case, qkv: Float32Array, dO: Float32Array, tiled: boolean) {
  gpu.tuning.tiledAttention = tiled;
  const { S, H, KVH, hd } = c;
  const T = c.B * S;
  const W = (H + 2 * KVH) * hd;
  const { query, key } = boundsOf(c);
  // q|k|v start 8 elements into their buffer, as a view inside a larger activation would.
  const padded = new Float32Array(8 + qkv.length);
  padded.set(qkv, 8);
  const qkvT = upload(gpu, padded);
  const view = (col: number) => ({ t: { ...qkvT, offset: 8 + col }, stride: W });
  const o = allocTensor(gpu, [T * H * hd], 'scratch', 'o');
  const args = {
    T, Sq: S, Sk: S, heads: H, kvHeads: KVH, headDim: hd,
    q: view(0), k: view(H * hd), v: view((H + KVH) * hd), o: { t: o, stride: H * hd },
    lse: allocTensor(gpu, [T * H], 'scratch', 'lse'),
    bounds: tensorOf(gpu.upload(query, 'scratch', 'bounds'), [T * 2]),
  };
  const gotO = await runAndRead(gpu, (p) => attentionForward(gpu, p, args), o);
  const grad = allocTensor(gpu, [8 + T * W], 'scratch', 'grad');
  const gotGrad = await runAndRead(gpu, (p) => attentionBackward(gpu, p, {
    ...args, dO: uploadTensor(gpu, dO, [dO.length], 'scratch', 'dO'),
    keyBounds: tensorOf(gpu.upload(key, 'scratch', 'kb'), [T * 2]),
    delta: allocTensor(gpu, [T * H], 'scratch', 'delta'), grad,
  }), grad);
  return { o: gotO, grad: gotGrad.subarray(8), query };
}

describe('tiled flash attention', () => {
  const cases: (Case & { name: string })[] = [
    { name: 'S 1, hd 4, GQA 2/1, three sequences', B: 3, S: 1, H: 2, KVH: 1, hd: 4, window: 0, segments: null },
    { name: 'S 7, hd 12, GQA 6/2, packed examples', B: 2, S: 7, H: 6, KVH: 2, hd: 12, window: 0, segments: [0, 0, 0, 1, 1, 2, 2] },
    { name: 'S 33, hd 64, GQA 3/1, window 5', B: 1, S: 33, H: 3, KVH: 1, hd: 64, window: 5, segments: null },
    { name: 'S 130, hd 64, MHA 2/2, causal (three blocks of 64)', B: 1, S: 130, H: 2, KVH: 2, hd: 64, window: 0, segments: null },
    { name: 'S 33, hd 256, GQA 2/1, window 9, two sequences', B: 2, S: 33, H: 2, KVH: 1, hd: 256, window: 9, segments: null },
    {
      name: 'S 130, hd 12, GQA 4/2, packed examples across block edges', B: 1, S: 130, H: 4, KVH: 2, hd: 12, window: 40,
      segments: Array.from({ length: 130 }, (_, s) => (s < 60 ? 0 : s < 70 ? 1 : 2)),
    },
  ];
  for (const c of cases) {
    it(`${c.name}: vs float64 and vs the per-row kernels`, async () => {
      const gpu = await testGpu();
      const T = c.B * c.S;
      const qkv = randomArray(T * (c.H + 2 * c.KVH) * c.hd, c.S + c.hd, 1.5);
      const dO = randomArray(T * c.H * c.hd, 7 + c.hd);
      const tiled = await run(gpu, c, qkv, dO, true);
      const rows = await run(gpu, c, qkv, dO, false);
      const s = split(qkv, c);
      expect(relError(tiled.o, attentionRef(s.q, s.k, s.v, T, c.S, c.H, c.KVH, c.hd, tiled.query))).toBeLessThan(1e-4);
      expect(relError(tiled.grad, backwardRef(qkv, dO, c, tiled.query))).toBeLessThan(1e-4);
      expect(relError(tiled.o, rows.o)).toBeLessThan(1e-5);
      expect(relError(tiled.grad, rows.grad)).toBeLessThan(1e-5);
    });
  }

  it('backward matches finite differences (tiny GQA case with packed examples)', async () => {
    const gpu = await testGpu();
    const c: Case = { B: 2, S: 5, H: 4, KVH: 2, hd: 4, window: 3, segments: [0, 0, 1, 1, 1] };
    const T = c.B * c.S;
    const qkv = randomArray(T * (c.H + 2 * c.KVH) * c.hd, 5, 1.5);
    const dO = randomArray(T * c.H * c.hd, 9);
    const { grad, query } = await run(gpu, c, qkv, dO, true);
    const loss = (x: ArrayLike<number>) => {
      const s = split(x, c);
      return dotWith(dO)(attentionRef(s.q, s.k, s.v, T, c.S, c.H, c.KVH, c.hd, query));
    };
    expect(relError(grad, numericGrad(loss, qkv))).toBeLessThan(1e-4);
  });

  it('sizes its tiles to the adapter\'s workgroup memory, and keeps the per-row kernels when a tile cannot fit', async () => {
    const real = await testGpu();
    const small = new Gpu(real.device, real.adapter, { maxComputeWorkgroupStorageSize: 1024 });
    expect(attentionTile(small, 12)).toBe(9);
    expect(useTiledAttention(small, 256)).toBe(false);
    // Unset: tiles on GPUs; on CPU drivers only where the head_dim loops unroll (up to 64).
    const hardware = new Gpu(real.device, { ...real.adapter, software: false });
    const software = new Gpu(real.device, { ...real.adapter, software: true });
    expect([64, 128, 256].map((hd) => useTiledAttention(hardware, hd))).toEqual([true, true, true]);
    expect([64, 128, 256].map((hd) => useTiledAttention(software, hd))).toEqual([true, false, false]);
    for (const hd of [12, 256]) {
      const c: Case = { B: 1, S: 20, H: 2, KVH: 1, hd, window: 0, segments: null };
      const qkv = randomArray(20 * 4 * hd, 3, 1.5);
      const dO = randomArray(20 * 2 * hd, 4);
      const got = await run(small, c, qkv, dO, true);
      expect(relError(got.grad, backwardRef(qkv, dO, c, got.query))).toBeLessThan(1e-4);
    }
  });
});
