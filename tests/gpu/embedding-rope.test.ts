import { describe, expect, it } from 'vitest';
import { embeddingBackward, embeddingForward, embeddingRef } from '../../src/core/kernels/embedding.ts';
import { rope, ropeRef, ropeTable } from '../../src/core/kernels/rope.ts';
import { allocTensor, tensorOf } from '../../src/core/gpu/tensor.ts';
import { dotWith, numericGrad, randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

describe('embedding', () => {
  it('looks up rows of a table split into chunks, and scatter-adds repeated ids', async () => {
    const gpu = await testGpu();
    const [V, D] = [23, 13];
    const ids = Uint32Array.from([3, 22, 0, 3, 17, 9, 3, 21, 10]);
    const T = ids.length;
    const table = randomArray(V * D, 5);
    const idsT = tensorOf(gpu.upload(ids, 'scratch', 'ids'), [T]);
    // Three chunks of 10, 10 and 3 rows, as an over-limit vocabulary would be split.
    const bounds = [[0, 10], [10, 20], [20, 23]];
    const chunks = bounds.map(([a, b]) => ({ table: upload(gpu, table.slice(a! * D, b! * D)), rowStart: a!, rows: b! - a! }));
    const out = upload(gpu, new Float32Array(T * D).fill(NaN));
    const got = await runAndRead(gpu, (p) => embeddingForward(gpu, p, idsT, chunks, out, T, D), out);
    expect(relError(got, embeddingRef(ids, table, D))).toBeLessThan(1e-6);

    const dOut = randomArray(T * D, 6);
    const dChunks = bounds.map(([a, b]) => ({ table: allocTensor(gpu, [(b! - a!) * D], 'scratch', 'd'), rowStart: a!, rows: b! - a! }));
    const p = (await import('../../src/core/gpu/program.ts')).Program;
    const prog = new p();
    await embeddingBackward(gpu, prog, idsT, upload(gpu, dOut), dChunks, T, D);
    gpu.run(prog);
    const dTable = new Float64Array(V * D);
    for (const [i, c] of dChunks.entries()) dTable.set(await runAndRead(gpu, async () => {}, c.table), bounds[i]![0]! * D);
    const loss = dotWith(dOut);
    expect(relError(dTable, numericGrad((w) => loss(embeddingRef(ids, w, D)), table))).toBeLessThan(1e-4);
  });
});

describe('rope', () => {
  it('rotates q and k heads inside a fused row; the inverse is the backward', async () => {
    const gpu = await testGpu();
    const [T, heads, hd, stride] = [5, 3, 10, 40];
    const invFreq = Array.from({ length: hd / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / hd));
    const positions = Uint32Array.from([0, 1, 2, 7, 63]);
    const x = randomArray(T * stride, 8);
    const dense = (arr: ArrayLike<number>) => {
      const out = new Float64Array(T * heads * hd);
      for (let t = 0; t < T; t++) for (let i = 0; i < heads * hd; i++) out[t * heads * hd + i] = arr[t * stride + 4 + i]!;
      return out;
    };
    const xt = upload(gpu, x);
    const args = {
      x: { ...xt, offset: 4 }, T, heads, headDim: hd, rowStride: stride,
      positions: tensorOf(gpu.upload(positions, 'scratch', 'pos'), [T]),
      table: upload(gpu, ropeTable(invFreq, 64)), maxPositions: 64,
    };
    const got = await runAndRead(gpu, (p) => rope(gpu, p, args), xt);
    expect(relError(dense(got), ropeRef(dense(x), positions, invFreq, heads, hd))).toBeLessThan(1e-5);
    for (let t = 0; t < T; t++) for (const c of [0, 1, 2, 3, 34, 35, 36, 37, 38, 39]) expect(got[t * stride + c]).toBe(x[t * stride + c]);

    const dy = randomArray(T * heads * hd, 9);
    const dyFused = new Float32Array(T * stride);
    for (let t = 0; t < T; t++) dyFused.set(dy.subarray(t * heads * hd, (t + 1) * heads * hd), t * stride + 4);
    const dt = upload(gpu, dyFused);
    const gotDx = await runAndRead(gpu, (p) => rope(gpu, p, { ...args, x: { ...dt, offset: 4 } }, true), dt);
    const loss = dotWith(dy);
    expect(relError(dense(gotDx), numericGrad((xs) => loss(ropeRef(xs, positions, invFreq, heads, hd)), dense(x)))).toBeLessThan(1e-4);
  });
});
