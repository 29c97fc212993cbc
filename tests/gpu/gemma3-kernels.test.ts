import { describe, expect, it } from 'vitest';
import { attentionBackward, attentionForward, causalBounds } from '../../src/core/kernels/attention.ts';
import { gegluBackward, gegluForward } from '../../src/core/kernels/geglu.ts';
import { headNormBackward, headNormForward, headNormWeightGrad } from '../../src/core/kernels/head-norm.ts';
import { normBackward, normForward, normParamGrads } from '../../src/core/kernels/norm.ts';
import { scaleInPlace } from '../../src/core/kernels/scale.ts';
import { windowBounds } from '../../src/core/kernels/window-bounds.ts';
import { allocTensor, readTensor, tensorOf, uploadTensor, viewOf } from '../../src/core/gpu/tensor.ts';
import { Program } from '../../src/core/gpu/program.ts';
import { dotWith, numericGrad, randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

// Float64 references written here from the definitions (Gemma3RMSNorm, gelu_pytorch_tanh, the sliding mask).
const geluTanh = (z: number) => 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3)));

function gegluRef(gu: ArrayLike<number>, rows: number, width: number): Float64Array {
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) out[r * width + c] = geluTanh(gu[r * 2 * width + c]!) * gu[r * 2 * width + width + c]!;
  }
  return out;
}

/** x · rsqrt(mean(x²) + eps) · (1 + w) per row of D. */
function gemmaNormRef(x: ArrayLike<number>, w: ArrayLike<number>, rows: number, D: number, eps: number): Float64Array {
  const y = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < D; i++) ss += x[r * D + i]! ** 2;
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let i = 0; i < D; i++) y[r * D + i] = x[r * D + i]! * inv * (1 + w[i]!);
  }
  return y;
}

/** Attention with an explicit scale and, per query t of sequence start b0, keys max(b0, t - W + 1)..t. */
function slidingAttentionRef(
  qkv: ArrayLike<number>, T: number, S: number, H: number, KVH: number, hd: number, scale: number, window: number,
): Float64Array {
  const W = (H + 2 * KVH) * hd;
  const o = new Float64Array(T * H * hd);
  for (let t = 0; t < T; t++) {
    const b0 = Math.floor(t / S) * S;
    const lo = Math.max(b0, t - window + 1);
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / KVH));
      const sc: number[] = [];
      for (let j = lo; j <= t; j++) {
        let s = 0;
        for (let i = 0; i < hd; i++) s += qkv[t * W + h * hd + i]! * qkv[j * W + H * hd + g * hd + i]!;
        sc.push(s * scale);
      }
      const m = Math.max(...sc);
      const e = sc.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = lo; j <= t; j++) {
        for (let i = 0; i < hd; i++) o[t * H * hd + h * hd + i]! += (e[j - lo]! / z) * qkv[j * W + (H + KVH) * hd + g * hd + i]!;
      }
    }
  }
  return o;
}

describe('Gemma 3 kernels', () => {
  it('GeGLU 5x37: forward vs float64, backward vs finite differences', async () => {
    const gpu = await testGpu();
    const [rows, width] = [5, 37];
    const gu = randomArray(rows * 2 * width, 3, 2.5);
    const out = allocTensor(gpu, [rows * width], 'scratch', 'out');
    const guT = upload(gpu, gu);
    expect(relError(await runAndRead(gpu, (p) => gegluForward(gpu, p, guT, out, rows, width), out), gegluRef(gu, rows, width))).toBeLessThan(1e-5);
    const dy = randomArray(rows * width, 4);
    const dgu = allocTensor(gpu, [rows * 2 * width], 'scratch', 'dgu');
    const got = await runAndRead(gpu, (p) => gegluBackward(gpu, p, guT, upload(gpu, dy), dgu, rows, width), dgu);
    expect(relError(got, numericGrad((x) => dotWith(dy)(gegluRef(x, rows, width)), gu))).toBeLessThan(1e-4);
  });

  it('sliding-window bounds from causal ones: two sequences, packed examples, window 3', async () => {
    const gpu = await testGpu();
    const [S, window] = [8, 3];
    const segments = [0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    const T = segments.length;
    const { query, key } = causalBounds(S, segments);
    const src = new Uint32Array(4 * T);
    src.set(query, 0);
    src.set(key, 2 * T);
    const inT = tensorOf(gpu.upload(src, 'scratch', 'causal'), [4 * T]);
    const outT = allocTensor(gpu, [4 * T], 'scratch', 'window');
    const p = new Program('window');
    await windowBounds(gpu, p, T, window, viewOf(inT, [2 * T]), viewOf(inT, [2 * T], 2 * T), viewOf(outT, [2 * T]), viewOf(outT, [2 * T], 2 * T));
    gpu.run(p);
    const got = new Uint32Array((await readTensor(gpu, outT)).buffer);
    for (let t = 0; t < T; t++) {
      // Query t sees the last `window` keys of its own example; key t is seen by the next `window` queries of it.
      expect([got[2 * t], got[2 * t + 1]]).toEqual([Math.max(query[2 * t]!, query[2 * t + 1]! - window + 1), query[2 * t + 1]]);
      expect([got[2 * T + 2 * t], got[2 * T + 2 * t + 1]]).toEqual([key[2 * t], Math.min(key[2 * t + 1]!, key[2 * t]! + window - 1)]);
    }
  });

  it('RMSNorm with a (1 + w) weight, 7x67: forward, accumulating forward, dx, dweight', async () => {
    const gpu = await testGpu();
    const [rows, D, eps] = [7, 67, 1e-6];
    const x = randomArray(rows * D, 5, 2);
    const w = randomArray(D, 6, 0.5);
    const args = {
      kind: 'rmsnorm' as const, rows, D, eps, x: upload(gpu, x), weight: upload(gpu, w), weightOffset: 1,
      stats: allocTensor(gpu, [rows], 'scratch', 'stats'),
    };
    const want = gemmaNormRef(x, w, rows, D, eps);
    const y = allocTensor(gpu, [rows * D], 'scratch', 'y');
    expect(relError(await runAndRead(gpu, (p) => normForward(gpu, p, args, y), y), want)).toBeLessThan(1e-5);
    const resid = randomArray(rows * D, 9);
    const r = upload(gpu, resid);
    expect(relError(await runAndRead(gpu, (p) => normForward(gpu, p, args, r, true), r), want.map((v, i) => v + resid[i]!))).toBeLessThan(1e-5);

    const dy = randomArray(rows * D, 7);
    const dx = allocTensor(gpu, [rows * D], 'scratch', 'dx');
    const dw = upload(gpu, new Float32Array(D));
    const gotDx = await runAndRead(gpu, async (p) => {
      await normBackward(gpu, p, args, upload(gpu, dy), dx, false);
      await normParamGrads(gpu, p, args, upload(gpu, dy), dw);
    }, dx);
    const loss = dotWith(dy);
    expect(relError(gotDx, numericGrad((xs) => loss(gemmaNormRef(xs, w, rows, D, eps)), x))).toBeLessThan(1e-4);
    expect(relError(await readTensor(gpu, dw), numericGrad((ws) => loss(gemmaNormRef(x, ws, rows, D, eps)), w))).toBeLessThan(1e-4);
  });

  it('per-head q/k norm with a (1 + w) weight, head_dim 24 in a strided row: forward, dx, dweight', async () => {
    const gpu = await testGpu();
    const [T, heads, D, stride, col, eps] = [5, 2, 24, 100, 4, 1e-6];
    const rowsX = randomArray(T * stride, 11, 2);
    const w = randomArray(D, 12, 0.5);
    const qkv = upload(gpu, rowsX);
    const width = heads * D;
    const dense = (a: ArrayLike<number>) => Float64Array.from({ length: T * width }, (_, i) => a[Math.floor(i / width) * stride + col + (i % width)]!);
    const args = {
      T, heads, headDim: D, stride, eps, x: viewOf(qkv, [T, width], col), weight: upload(gpu, w), weightOffset: 1,
      saved: allocTensor(gpu, [T * width], 'scratch', 'saved'), stats: allocTensor(gpu, [T * heads], 'scratch', 'stats'),
    };
    const got = await runAndRead(gpu, (p) => headNormForward(gpu, p, args), qkv);
    expect(relError(dense(got), gemmaNormRef(dense(rowsX), w, T * heads, D, eps))).toBeLessThan(1e-5);
    const dyRows = randomArray(T * stride, 13);
    const dq = upload(gpu, dyRows);
    const dw = upload(gpu, new Float32Array(D));
    const view = viewOf(dq, [T, width], col);
    const gotDx = await runAndRead(gpu, async (p) => {
      await headNormWeightGrad(gpu, p, args, view, dw);
      await headNormBackward(gpu, p, args, view);
    }, dq);
    const loss = dotWith(dense(dyRows));
    expect(relError(dense(gotDx), numericGrad((xs) => loss(gemmaNormRef(xs, w, T * heads, D, eps)), dense(rowsX)))).toBeLessThan(1e-4);
    expect(relError(await readTensor(gpu, dw), numericGrad((ws) => loss(gemmaNormRef(dense(rowsX), ws, T * heads, D, eps)), w))).toBeLessThan(1e-4);
  });

  it('scale in place (the embedding scale)', async () => {
    const gpu = await testGpu();
    const x = randomArray(300, 14);
    const t = upload(gpu, x);
    const got = await runAndRead(gpu, (p) => scaleInPlace(gpu, p, viewOf(t, [200], 50), 200, 6.5), t);
    expect(Array.from(got)).toEqual(Array.from(x, (v, i) => (i >= 50 && i < 250 ? Math.fround(v * 6.5) : v)));
  });

  // head_dim above the old 128 cap: Gemma's 256, and 132 (not a power of two), with a query scale
  // and sliding-window bounds; the backward is checked on a subset of inputs to stay fast.
  for (const [H, KVH, hd, window] of [[2, 1, 256, 3], [3, 3, 132, 100]]) {
    it(`attention head_dim ${hd}, ${H}/${KVH} heads, window ${window}: forward vs float64, backward vs finite differences`, async () => {
      const gpu = await testGpu();
      const [B, S] = [2, 5];
      const T = B * S;
      const W = (H + 2 * KVH) * hd;
      const scale = 0.11;
      const qkv = randomArray(T * W, hd + H, 1.5);
      const { query, key } = causalBounds(S, new Array(T).fill(0));
      const src = new Uint32Array(4 * T);
      src.set(query, 0);
      src.set(key, 2 * T);
      const causal = tensorOf(gpu.upload(src, 'scratch', 'causal'), [4 * T]);
      const bounds = allocTensor(gpu, [4 * T], 'scratch', 'bounds');
      const qkvT = upload(gpu, qkv);
      const view = (c: number) => ({ t: viewOf(qkvT, [T, W], c), stride: W });
      const o = allocTensor(gpu, [T * H * hd], 'scratch', 'o');
      const args = {
        T, Sq: S, Sk: S, heads: H, kvHeads: KVH, headDim: hd, scale,
        q: view(0), k: view(H * hd), v: view((H + KVH) * hd), o: { t: o, stride: H * hd },
        lse: allocTensor(gpu, [T * H], 'scratch', 'lse'), bounds: viewOf(bounds, [2 * T]),
      };
      const got = await runAndRead(gpu, async (p) => {
        await windowBounds(gpu, p, T, window, viewOf(causal, [2 * T]), viewOf(causal, [2 * T], 2 * T), viewOf(bounds, [2 * T]), viewOf(bounds, [2 * T], 2 * T));
        await attentionForward(gpu, p, args);
      }, o);
      expect(relError(got, slidingAttentionRef(qkv, T, S, H, KVH, hd, scale, window))).toBeLessThan(1e-4);

      const dO = randomArray(T * H * hd, 31);
      const grad = allocTensor(gpu, [T * W], 'scratch', 'grad');
      const gotGrad = await runAndRead(gpu, (p) => attentionBackward(gpu, p, {
        ...args, dO: uploadTensor(gpu, dO, [dO.length], 'scratch', 'dO'), keyBounds: viewOf(bounds, [2 * T], 2 * T),
        delta: allocTensor(gpu, [T * H], 'scratch', 'delta'), grad,
      }), grad);
      const loss = (x: Float64Array) => dotWith(dO)(slidingAttentionRef(x, T, S, H, KVH, hd, scale, window));
      const x = Float64Array.from(qkv);
      let maxAbs = 0;
      for (const g of gotGrad) maxAbs = Math.max(maxAbs, Math.abs(g));
      // q, k and v entries of the first and last tokens of each sequence, first and last head dims.
      for (const t of [0, S - 1, S, T - 1]) {
        for (const c of [0, hd - 1, H * hd, H * hd + hd - 1, (H + KVH) * hd, W - 1]) {
          const i = t * W + c;
          const v = x[i]!;
          x[i] = v + 1e-5;
          const up = loss(x);
          x[i] = v - 1e-5;
          const down = loss(x);
          x[i] = v;
          expect(Math.abs(gotGrad[i]! - (up - down) / 2e-5), `t ${t} col ${c}`).toBeLessThan(2e-4 * maxAbs);
        }
      }
    });
  }
});
