import type { Gpu } from '../gpu/gpu.ts';
import { Program } from '../gpu/program.ts';
import { allocTensor, tensorOf } from '../gpu/tensor.ts';
import { attentionBackward, attentionForward, causalBounds } from '../kernels/attention.ts';
import { rope as ropePass, ropeTable } from '../kernels/rope.ts';

/** RoPE on q and k: none, the rope kernel before the forward and after the backward, or inside the tiled kernels. */
export type BenchRope = 'none' | 'pass' | 'in-kernel';

export interface AttentionBench {
  readonly bench: 'attention';
  readonly pass: 'forward' | 'backward';
  readonly kernels: 'tiled' | 'rows';
  readonly rope: BenchRope;
  readonly S: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly ms: number;
  /** Process CPU time per run, when the caller gives a CPU clock (steadier than wall time on a shared CPU driver). */
  readonly cpu_ms?: number;
  /** By the FlashAttention convention: 4·hd (forward) or 10·hd (backward) per visible query-key pair and head. */
  readonly gflops: number;
  readonly adapter: string;
}

/** Milliseconds of CPU time so far (Node: process.cpuUsage), injected so that core stays platform-free. */
export type CpuClock = () => number;

async function time(gpu: Gpu, p: Program, budgetMs: number, cpu?: CpuClock): Promise<{ ms: number; cpuMs?: number }> {
  gpu.run(p);
  await gpu.sync();
  let t0 = performance.now();
  gpu.run(p);
  await gpu.sync();
  const once = performance.now() - t0;
  const reps = Math.max(1, Math.min(20, Math.floor(budgetMs / Math.max(once, 0.01))));
  t0 = performance.now();
  const c0 = cpu?.();
  for (let i = 0; i < reps; i++) gpu.run(p);
  await gpu.sync();
  const ms = (performance.now() - t0) / reps;
  return cpu && c0 !== undefined ? { ms, cpuMs: (cpu() - c0) / reps } : { ms };
}

/** Times causal attention over one sequence of S tokens (batch 1, fused q|k|v rows), forward and backward. */
export async function benchAttention(
  gpu: Gpu, S: number, heads: number, kvHeads: number, headDim: number, tiled: boolean, budgetMs = 2000, cpu?: CpuClock,
  rope: BenchRope = 'none',
): Promise<AttentionBench[]> {
  const saved = gpu.tuning.tiledAttention;
  gpu.tuning.tiledAttention = tiled;
  const W = (heads + 2 * kvHeads) * headDim;
  const { query, key } = causalBounds(S, new Array<number>(S).fill(0));
  const qkv = allocTensor(gpu, [S * W], 'scratch', 'bench-qkv');
  const o = allocTensor(gpu, [S * heads * headDim], 'scratch', 'bench-o');
  const dO = allocTensor(gpu, [S * heads * headDim], 'scratch', 'bench-do');
  const grad = allocTensor(gpu, [S * W], 'scratch', 'bench-grad');
  const lse = allocTensor(gpu, [S * heads], 'scratch', 'bench-lse');
  const delta = allocTensor(gpu, [S * heads], 'scratch', 'bench-delta');
  const bounds = tensorOf(gpu.upload(query, 'scratch', 'bench-bounds'), [2 * S]);
  const keyBounds = tensorOf(gpu.upload(key, 'scratch', 'bench-kb'), [2 * S]);
  const view = (col: number) => ({ t: { ...qkv, offset: col }, stride: W });
  const invFreq = Array.from({ length: headDim / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / headDim));
  const positions = tensorOf(gpu.upload(Uint32Array.from({ length: S }, (_, i) => i), 'scratch', 'bench-positions'), [S]);
  const table = tensorOf(gpu.upload(ropeTable(invFreq, S), 'scratch', 'bench-rope'), [S, headDim]);
  const ropeArgs = { positions, table, maxPositions: S };
  const rotate = (p: Program, x: typeof qkv, inverse: boolean) =>
    ropePass(gpu, p, { x, T: S, heads: heads + kvHeads, headDim, rowStride: W, ...ropeArgs }, inverse);
  const args = {
    T: S, Sq: S, Sk: S, heads, kvHeads, headDim, lse, bounds,
    q: view(0), k: view(heads * headDim), v: view((heads + kvHeads) * headDim), o: { t: o, stride: heads * headDim },
    ...(rope === 'in-kernel' ? { rope: ropeArgs } : {}),
  };
  try {
    const fwd = new Program('bench-attention-forward');
    if (rope === 'pass') await rotate(fwd, qkv, false);
    await attentionForward(gpu, fwd, args);
    const bwd = new Program('bench-attention-backward');
    await attentionBackward(gpu, bwd, { ...args, dO, keyBounds, delta, grad });
    if (rope === 'pass') await rotate(bwd, grad, true);
    const pairs = (S * (S + 1)) / 2;
    const row = (pass: 'forward' | 'backward', t: { ms: number; cpuMs?: number }, perPair: number): AttentionBench => ({
      bench: 'attention', pass, kernels: tiled ? 'tiled' : 'rows', rope, S, heads, kvHeads, headDim, ms: t.ms,
      ...(t.cpuMs === undefined ? {} : { cpu_ms: t.cpuMs }),
      gflops: (perPair * headDim * pairs * heads) / (t.ms * 1e6), adapter: gpu.adapter.description,
    });
    return [row('forward', await time(gpu, fwd, budgetMs, cpu), 4), row('backward', await time(gpu, bwd, budgetMs, cpu), 10)];
  } finally {
    if (saved === undefined) delete gpu.tuning.tiledAttention;
    else gpu.tuning.tiledAttention = saved;
    for (const t of [qkv, o, dO, grad, lse, delta, bounds, keyBounds, positions, table]) gpu.destroyBuffer(t.buffer);
  }
}
