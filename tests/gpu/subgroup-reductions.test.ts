import { describe, expect, it } from 'vitest';
import { crossEntropyChunk, crossEntropyFinish, crossEntropyRef } from '../../src/core/kernels/cross-entropy.ts';
import { normBackward, normForward, normRef, statsPerRow, type NormKind } from '../../src/core/kernels/norm.ts';
import { partialsFor, sumInto } from '../../src/core/kernels/reduce.ts';
import { Slot, StepState } from '../../src/core/kernels/step-state.ts';
import { subgroupReductions } from '../../src/core/gpu/features.ts';
import { Program } from '../../src/core/gpu/program.ts';
import { allocTensor, tensorOf } from '../../src/core/gpu/tensor.ts';
import type { Gpu } from '../../src/core/gpu/gpu.ts';
import { reductionSelfTest } from '../../src/core/selftest/reductions.ts';
import { Rng } from '../../src/core/rng.ts';
import { randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

// Row lengths that fill no subgroup or workgroup evenly.
const LENGTHS = [1, 7, 33, 257, 1000];
const PATHS = ['subgroup', 'workgroup memory'] as const;

/** Sets the reduction path and checks that the device really takes it (lavapipe offers subgroups). */
async function onPath(path: (typeof PATHS)[number]): Promise<Gpu> {
  const gpu = await testGpu();
  gpu.tuning.subgroups = path === 'subgroup' ? undefined : false;
  expect(subgroupReductions(gpu)).toBe(path === 'subgroup');
  return gpu;
}

/** The labels of the dispatches a recording made (which shader variant ran). */
async function labels(record: (p: Program) => Promise<void>): Promise<string[]> {
  const p = new Program();
  await record(p);
  return p.ops.map((op) => (op.kind === 'dispatch' ? op.label : op.kind));
}

/** Float64 dx of Σ dy·norm(x) for one row set, by the closed forms (checked against finite differences in norm.test.ts). */
function normBackwardRef(kind: NormKind, x: Float32Array, w: Float32Array, dy: Float32Array, rows: number, D: number, eps: number): Float64Array {
  const dx = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) {
    const xs = Array.from(x.subarray(r * D, (r + 1) * D));
    const mean = kind === 'layernorm' ? xs.reduce((a, b) => a + b, 0) / D : 0;
    const rstd = 1 / Math.sqrt(xs.reduce((a, v) => a + (v - mean) ** 2, 0) / D + eps);
    const g = xs.map((_, c) => dy[r * D + c]! * w[c]!);
    const xh = xs.map((v) => (v - mean) * rstd);
    const mg = kind === 'layernorm' ? g.reduce((a, b) => a + b, 0) / D : 0;
    const mgx = g.reduce((a, v, c) => a + v * xh[c]!, 0) / D;
    for (let c = 0; c < D; c++) dx[r * D + c] = rstd * (g[c]! - mg - xh[c]! * mgx);
  }
  return dx;
}

describe('row reductions, subgroup and workgroup-memory paths', () => {
  for (const path of PATHS) {
    for (const kind of ['rmsnorm', 'layernorm'] as NormKind[]) {
      it(`${kind} forward and backward, rows of ${LENGTHS.join(', ')} (${path})`, async () => {
        const gpu = await onPath(path);
        for (const D of LENGTHS) {
          const rows = 5;
          const eps = 1e-5;
          const x = randomArray(rows * D, D, 3);
          const w = randomArray(D, D + 1);
          const b = kind === 'layernorm' ? randomArray(D, D + 2) : null;
          const args = {
            kind, rows, D, eps, x: upload(gpu, x), weight: upload(gpu, w), bias: b ? upload(gpu, b) : undefined,
            stats: allocTensor(gpu, [rows * statsPerRow(kind)], 'scratch', 'stats'),
          };
          const y = allocTensor(gpu, [rows * D], 'scratch', 'y');
          const used = await labels((p) => normForward(gpu, p, args, y));
          expect(used).toEqual([path === 'subgroup' ? `norm_subgroup.${kind}_forward` : `norm.${kind}_forward`]);
          const gotY = await runAndRead(gpu, (p) => normForward(gpu, p, args, y), y);
          // D = 1: LayerNorm's output is its bias (x - mean = 0); RMSNorm's is sign(x)·w.
          expect(relError(gotY, normRef(kind, x, w, b, rows, D, eps)), `y, D=${D}`).toBeLessThan(2e-5);
          const dyv = randomArray(rows * D, D + 3);
          const dx = allocTensor(gpu, [rows * D], 'scratch', 'dx');
          const gotDx = await runAndRead(gpu, (p) => normBackward(gpu, p, args, upload(gpu, dyv), dx, false), dx);
          const want = normBackwardRef(kind, x, w, dyv, rows, D, eps);
          // At D = 1 dx is a difference of nearly equal terms of size |dy·w|·rstd (0 for LayerNorm,
          // ε/(x²+ε) of them for RMSNorm): the error is measured against those terms.
          const terms = Math.max(...Array.from(x, (v, i) => Math.abs(dyv[i]! * w[0]!) / Math.sqrt(v * v + eps)));
          const err = D === 1 ? Math.max(...gotDx.map((g, i) => Math.abs(g - want[i]!))) / terms : relError(gotDx, want);
          expect(err, `dx, D=${D}`).toBeLessThan(5e-5);
        }
      });
    }

    it(`cross-entropy row statistics over vocabularies of ${LENGTHS.join(', ')} in two chunks (${path})`, async () => {
      const gpu = await onPath(path);
      for (const V of LENGTHS) {
        const T = 6;
        const logits = randomArray(T * V, V + 11, 8);
        const targets = Uint32Array.from({ length: T }, (_, t) => (t * 7919) % V);
        const tgt = tensorOf(gpu.upload(targets, 'scratch', 't'), [T]);
        const stats = allocTensor(gpu, [T * 3], 'scratch', 'stats');
        const rowLoss = allocTensor(gpu, [T], 'scratch', 'rowLoss');
        const split = Math.ceil(V / 2);
        const chunks = [[0, split], [split, V - split]].filter(([, n]) => n! > 0).map(([v0, Vc]) => {
          const part = new Float32Array(T * Vc!);
          for (let t = 0; t < T; t++) part.set(logits.subarray(t * V + v0!, t * V + v0! + Vc!), t * Vc!);
          return { logits: upload(gpu, part), v0: v0!, Vc: Vc! };
        });
        const record = async (p: Program) => {
          for (const [i, c] of chunks.entries()) await crossEntropyChunk(gpu, p, T, c, tgt, stats, i === 0);
          await crossEntropyFinish(gpu, p, T, tgt, stats, rowLoss);
        };
        expect((await labels(record))[0]).toBe(path === 'subgroup' ? 'cross_entropy_subgroup.chunk_stats' : 'cross_entropy.chunk_stats');
        const got = await runAndRead(gpu, record, rowLoss);
        expect(relError(got, crossEntropyRef(logits, targets, V)), `V=${V}`).toBeLessThan(2e-5);
      }
    });

    it(`sum of squares (the gradient norm) over ${[...LENGTHS, 5000].join(', ')} elements (${path})`, async () => {
      const gpu = await onPath(path);
      for (const n of [...LENGTHS, 5000]) {
        const x = randomArray(n, n + 5, 2);
        const step = new StepState(gpu);
        const partials = allocTensor(gpu, [partialsFor([n])], 'scratch', 'partials');
        const record = (p: Program) => sumInto(gpu, p, [{ x: upload(gpu, x), n }], partials, step.tensor, Slot.gradNormSq, { square: true });
        expect((await labels(record))[0]).toBe(path === 'subgroup' ? 'reduce_subgroup.partial' : 'reduce.partial');
        const got = (await runAndRead(gpu, record, step.tensor))[Slot.gradNormSq]!;
        const want = Array.from(x).reduce((a, v) => a + v * v, 0);
        expect(Math.abs(got - want) / want, `n=${n}`).toBeLessThan(1e-5);
      }
    });
  }
});

describe('the self-test of row reductions (what the app runs on the browser adapter)', () => {
  it('checks both paths on lavapipe, each within 1e-4 of float64', async () => {
    const gpu = await testGpu();
    gpu.tuning.subgroups = undefined;
    const results = await reductionSelfTest(gpu, new Rng(7));
    expect(results.map((r) => r.name)).toEqual([
      'rmsnorm 5x257 (subgroups)', 'cross-entropy 5x1000 (subgroups)', 'sum of squares of 1285 (subgroups)',
      'rmsnorm 5x257 (workgroup memory)', 'cross-entropy 5x1000 (workgroup memory)', 'sum of squares of 1285 (workgroup memory)',
    ]);
    for (const r of results) expect(r.relError, r.name).toBeLessThan(1e-4);
    expect(gpu.tuning.subgroups).toBeUndefined();
  });
});
