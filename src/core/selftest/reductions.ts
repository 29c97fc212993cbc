import { subgroupReductions } from '../gpu/features.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Program } from '../gpu/program.ts';
import { allocTensor, readTensor, uploadTensor } from '../gpu/tensor.ts';
import { crossEntropyChunk, crossEntropyFinish, crossEntropyRef } from '../kernels/cross-entropy.ts';
import { normForward, normRef } from '../kernels/norm.ts';
import { partialsFor, sumInto } from '../kernels/reduce.ts';
import { STEP_SLOTS } from '../kernels/step-state.ts';
import type { Rng } from '../rng.ts';
import { randomValues as random, relError } from './compare.ts';

interface Check {
  readonly name: string;
  readonly relError: number;
}

/**
 * Row reductions (RMSNorm, cross-entropy statistics, a sum of squares) on rows that fill no
 * subgroup evenly, on each path this adapter has: subgroups (whatever their size here) and the
 * workgroup-memory fallback.
 */
export async function reductionSelfTest(gpu: Gpu, rng: Rng): Promise<Check[]> {
  const saved = gpu.tuning.subgroups;
  const paths = subgroupReductions(gpu) ? [undefined, false] : [false];
  const out: Check[] = [];
  try {
    for (const path of paths) {
      gpu.tuning.subgroups = path;
      const label = path === false ? 'workgroup memory' : 'subgroups';
      const [rows, D, V] = [5, 257, 1000];
      const x = random(rows * D, rng, 2);
      const w = random(D, rng);
      const y = allocTensor(gpu, [rows * D], 'scratch', 'selftest-y');
      const args = { kind: 'rmsnorm' as const, rows, D, eps: 1e-5, x: uploadTensor(gpu, x, [x.length], 'scratch', 'x'),
        weight: uploadTensor(gpu, w, [D], 'scratch', 'w'), stats: allocTensor(gpu, [rows], 'scratch', 'stats') };
      const logits = random(rows * V, rng, 8);
      const targets = Uint32Array.from({ length: rows }, (_, t) => (t * 331) % V);
      const tgt = uploadTensor(gpu, targets, [rows], 'scratch', 'targets');
      const stats = allocTensor(gpu, [rows * 3], 'scratch', 'ce-stats');
      const rowLoss = allocTensor(gpu, [rows], 'scratch', 'row-loss');
      const step = allocTensor(gpu, [STEP_SLOTS], 'scratch', 'step');
      const partials = allocTensor(gpu, [partialsFor([x.length])], 'scratch', 'partials');
      const p = new Program('selftest');
      await normForward(gpu, p, args, y);
      await crossEntropyChunk(gpu, p, rows, { logits: uploadTensor(gpu, logits, [logits.length], 'scratch', 'logits'), v0: 0, Vc: V }, tgt, stats, true);
      await crossEntropyFinish(gpu, p, rows, tgt, stats, rowLoss);
      await sumInto(gpu, p, [{ x: args.x, n: x.length }], partials, step, 0, { square: true });
      gpu.run(p);
      out.push({ name: `rmsnorm ${rows}x${D} (${label})`, relError: relError(await readTensor(gpu, y), normRef('rmsnorm', x, w, null, rows, D, 1e-5)) });
      out.push({ name: `cross-entropy ${rows}x${V} (${label})`, relError: relError(await readTensor(gpu, rowLoss), crossEntropyRef(logits, targets, V)) });
      const sq = Array.from(x).reduce((a, v) => a + v * v, 0);
      out.push({ name: `sum of squares of ${x.length} (${label})`, relError: Math.abs((await readTensor(gpu, step))[0]! - sq) / sq });
    }
  } finally {
    gpu.tuning.subgroups = saved;
  }
  return out;
}
