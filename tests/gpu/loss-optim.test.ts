import { describe, expect, it } from 'vitest';
import { crossEntropyChunk, crossEntropyFinish, crossEntropyGrad, crossEntropyRef, IGNORE_TARGET, shiftTargets } from '../../src/core/kernels/cross-entropy.ts';
import { partialsFor, sumInto } from '../../src/core/kernels/reduce.ts';
import { adamwRef, adamwUpdate } from '../../src/core/kernels/adamw.ts';
import { halfToF32 } from '../../src/core/kernels/convert.ts';
import { dropout } from '../../src/core/kernels/dropout.ts';
import { Slot, StepState } from '../../src/core/kernels/step-state.ts';
import { allocTensor, readTensor, tensorOf } from '../../src/core/gpu/tensor.ts';
import { Program } from '../../src/core/gpu/program.ts';
import { numericGrad, randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';
import { logitChunks } from './logit-chunks.ts';

describe('cross-entropy over vocabulary chunks', () => {
  it('matches float64 loss and finite-difference gradients with ignored rows', async () => {
    const gpu = await testGpu();
    const [T, V] = [7, 53];
    const chunkSizes = [20, 20, 13];
    const logits = randomArray(T * V, 31, 4);
    const targets = Uint32Array.from([5, 52, IGNORE_TARGET, 0, 21, IGNORE_TARGET, 40]);
    const step = new StepState(gpu);
    const valid = targets.filter((t) => t !== IGNORE_TARGET).length;
    step.begin({ lr: 0, biasCorrection1: 1, biasCorrection2: 1, lossScale: 1 / valid, seed: 0 });
    const tgt = tensorOf(gpu.upload(targets, 'scratch', 't'), [T]);
    const stats = allocTensor(gpu, [T * 3], 'scratch', 'stats');
    const rowLoss = allocTensor(gpu, [T], 'scratch', 'rowLoss');
    const chunks = logitChunks(gpu, logits, T, V, chunkSizes);
    const p = new Program();
    for (const [i, c] of chunks.entries()) await crossEntropyChunk(gpu, p, T, c, tgt, stats, i === 0);
    await crossEntropyFinish(gpu, p, T, tgt, stats, rowLoss);
    const partials = allocTensor(gpu, [partialsFor([T])], 'scratch', 'partials');
    await sumInto(gpu, p, [{ x: rowLoss, n: T }], partials, step.tensor, Slot.lossSum);
    for (const c of chunks) await crossEntropyGrad(gpu, p, T, c, tgt, stats, step.tensor);
    gpu.run(p);
    const want = crossEntropyRef(logits, targets, V);
    expect(relError(await readTensor(gpu, rowLoss), want)).toBeLessThan(1e-5);
    const sum = (await readTensor(gpu, step.tensor))[Slot.lossSum]!;
    expect(Math.abs(sum - want.reduce((a, b) => a + b, 0))).toBeLessThan(1e-4);

    const grad = new Float64Array(T * V);
    for (const c of chunks) {
      const g = await readTensor(gpu, c.logits);
      for (let t = 0; t < T; t++) for (let j = 0; j < c.Vc; j++) grad[t * V + c.v0 + j] = g[t * c.Vc + j]!;
    }
    const mean = (z: Float64Array) => crossEntropyRef(z, targets, V).reduce((a, b) => a + b, 0) / valid;
    expect(relError(grad, numericGrad(mean, logits))).toBeLessThan(1e-4);
  });

  it('shifts labels within each sequence', () => {
    expect(Array.from(shiftTargets([1, 2, 3, -100, 5, 6], 3))).toEqual([2, 3, IGNORE_TARGET, 5, 6, IGNORE_TARGET]);
    // Packed rows: no target crosses from one example (segment) into the next.
    expect(Array.from(shiftTargets([1, 2, 3, 4, 5, 6], 6, [0, 0, 1, 1, 1, 2]))).toEqual([2, IGNORE_TARGET, 4, 5, IGNORE_TARGET, IGNORE_TARGET]);
  });
});

describe('reductions', () => {
  it('sums squares over several ranges (gradient norm) and accumulates', async () => {
    const gpu = await testGpu();
    const a = randomArray(3001, 1);
    const b = randomArray(77, 2);
    const step = new StepState(gpu);
    step.begin({ lr: 0, biasCorrection1: 1, biasCorrection2: 1, lossScale: 1, seed: 0 });
    const partials = allocTensor(gpu, [partialsFor([3001, 70])], 'scratch', 'p');
    const bt = upload(gpu, b);
    const got = await runAndRead(gpu, async (p) => {
      await sumInto(gpu, p, [{ x: upload(gpu, a), n: 3001 }, { x: { ...bt, offset: 7 }, n: 70 }], partials, step.tensor, Slot.gradNormSq, { square: true });
      await sumInto(gpu, p, [{ x: bt, n: 77 }], partials, step.tensor, Slot.gradNormSq, { accumulate: true });
    }, step.tensor);
    let want = 0;
    for (const v of a) want += v * v;
    for (const v of b.subarray(7)) want += v * v;
    for (const v of b) want += v;
    expect(Math.abs(got[Slot.gradNormSq]! - want) / want).toBeLessThan(1e-5);
  });
});

describe('AdamW', () => {
  it('matches torch.optim.AdamW over three steps with global norm clipping', async () => {
    const gpu = await testGpu();
    const n = 1031;
    const h = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxNorm: 1.0 };
    const p0 = randomArray(n, 3);
    const param = upload(gpu, p0);
    const grad = upload(gpu, new Float32Array(n));
    const m = allocTensor(gpu, [n], 'optimizer', 'm');
    const v = allocTensor(gpu, [n], 'optimizer', 'v');
    const step = new StepState(gpu);
    const partials = allocTensor(gpu, [partialsFor([n])], 'scratch', 'p');
    const ref = { p: Float64Array.from(p0), m: new Float64Array(n), v: new Float64Array(n) };
    for (let t = 1; t <= 3; t++) {
      const g = randomArray(n, 10 + t, t === 2 ? 0.01 : 1); // step 2 is under the clip norm
      gpu.write(grad.buffer, g);
      const lr = 1e-2 / t;
      step.begin({ lr, biasCorrection1: 1 - h.beta1 ** t, biasCorrection2: 1 - h.beta2 ** t, lossScale: 1, seed: 0 });
      const prog = new Program();
      await sumInto(gpu, prog, [{ x: grad, n }], partials, step.tensor, Slot.gradNormSq, { square: true });
      await adamwUpdate(gpu, prog, h, n, param, grad, m, v, step.tensor);
      gpu.run(prog);
      const norm = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
      const coef = Math.min(1, h.maxNorm / (norm + 1e-6));
      adamwRef(ref.p, Array.from(g, (x) => x * coef), ref.m, ref.v, t, lr, h);
    }
    expect(relError(await readTensor(gpu, param), ref.p)).toBeLessThan(1e-4);
    expect(relError(await readTensor(gpu, v), ref.v)).toBeLessThan(1e-4);
  });

  it('skips the update when the gradient norm is not finite', async () => {
    const gpu = await testGpu();
    const param = upload(gpu, Float32Array.from([1, 2, 3]));
    const grad = upload(gpu, Float32Array.from([0, NaN, 1]));
    const step = new StepState(gpu);
    step.begin({ lr: 0.1, biasCorrection1: 0.1, biasCorrection2: 0.001, lossScale: 1, seed: 0 });
    const partials = allocTensor(gpu, [1], 'scratch', 'p');
    const got = await runAndRead(gpu, async (p) => {
      await sumInto(gpu, p, [{ x: grad, n: 3 }], partials, step.tensor, Slot.gradNormSq, { square: true });
      await adamwUpdate(gpu, p, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1 }, 3, param, grad,
        allocTensor(gpu, [3], 'optimizer', 'm'), allocTensor(gpu, [3], 'optimizer', 'v'), step.tensor);
    }, param);
    expect(Array.from(got)).toEqual([1, 2, 3]);
  });
});

describe('conversion and dropout', () => {
  it('converts BF16 and F16 to f32 exactly, from an offset', async () => {
    const gpu = await testGpu();
    const values = [0, 1, -2.5, 65504, 1e-3, -0.333251953125, 3.0517578125e-5];
    const f16bits = Uint16Array.from([0x0000, 0x3c00, 0xc100, 0x7bff, 0x1419, 0xb555, 0x0200]);
    const bf16bits = Uint16Array.from(values, (v) => new Uint32Array(Float32Array.of(v).buffer)[0]! >>> 16);
    for (const [dtype, bits] of [['F16', f16bits], ['BF16', bf16bits]] as const) {
      const padded = new Uint16Array(2 + bits.length + 1);
      padded.set(bits, 2);
      const src = gpu.upload(padded, 'scratch', 'src');
      const dst = allocTensor(gpu, [bits.length], 'scratch', 'dst');
      const got = await runAndRead(gpu, (p) => halfToF32(gpu, p, dtype, src, 1, dst, bits.length), dst);
      const want = Array.from(bits, (b) => dtype === 'BF16' ? new Float32Array(Uint32Array.of(b << 16).buffer)[0]! : f16ToNumber(b));
      expect(Array.from(got)).toEqual(want);
    }
  });

  it('dropout keeps about 1-p, scales by 1/(1-p), and repeats for a seed', async () => {
    const gpu = await testGpu();
    const n = 20000;
    const x = upload(gpu, new Float32Array(n).fill(1));
    const step = new StepState(gpu);
    const run = async (seed: number, stream: number) => {
      step.begin({ lr: 0, biasCorrection1: 1, biasCorrection2: 1, lossScale: 1, seed });
      const y = allocTensor(gpu, [n], 'scratch', 'y');
      return runAndRead(gpu, (p) => dropout(gpu, p, x, y, n, 0.25, stream, step.tensor), y);
    };
    const a = await run(7, 1);
    const kept = a.filter((v) => v !== 0);
    expect(kept.length / n).toBeGreaterThan(0.73);
    expect(kept.length / n).toBeLessThan(0.77);
    expect(kept.every((v) => Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
    expect(Array.from(await run(7, 1))).toEqual(Array.from(a));
    expect(Array.from(await run(8, 1))).not.toEqual(Array.from(a));
    expect(Array.from(await run(7, 2))).not.toEqual(Array.from(a));
  });
});

function f16ToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

describe('column sums', () => {
  it('adds the rows of a column slice into a bias gradient', async () => {
    const { columnSums } = await import('../../src/core/kernels/reduce.ts');
    const gpu = await testGpu();
    const [rows, cols, ld, c0] = [37, 11, 20, 5];
    const x = randomArray(rows * ld, 4);
    const out = upload(gpu, Float32Array.from({ length: cols }, (_, i) => i));
    const xt = upload(gpu, x);
    const got = await runAndRead(gpu, (p) => columnSums(gpu, p, { ...xt, offset: c0 }, rows, cols, ld, out), out);
    const want = Array.from({ length: cols }, (_, c) => {
      let s = c;
      for (let r = 0; r < rows; r++) s += x[r * ld + c0 + c]!;
      return s;
    });
    expect(relError(got, want)).toBeLessThan(1e-5);
  });
});
