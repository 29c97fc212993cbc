import code from '../../../shaders/cross_entropy.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { packParams } from '../gpu/params.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { pick, reducingKernel } from './row-reduction.ts';
import { Slot } from './step-state.ts';

const spec = (entry: string, bindings: KernelSpec['bindings']): KernelSpec => reducingKernel('cross_entropy', code, entry, bindings).shared;
const STATS = reducingKernel('cross_entropy', code, 'chunk_stats', ['uniform', 'rw', 'read', 'rw']);
const FINISH = spec('finish', ['uniform', 'rw', 'read', 'rw']);
const GRAD = spec('chunk_grad', ['uniform', 'rw', 'read', 'read', 'read']);

/** Label value for positions that carry no loss. */
export const IGNORE_INDEX = -100;
export const IGNORE_TARGET = 0xffffffff;

/** One vocabulary chunk of logits: columns [v0, v0 + Vc) stored [T, Vc]. */
export interface LogitsChunk {
  readonly logits: Tensor;
  readonly v0: number;
  readonly Vc: number;
}

/** Offsets the kernel does not take: these tensors must start their buffers. */
function atStart(...ts: Tensor[]): void {
  if (ts.some((t) => t.offset !== 0)) throw new Error('cross_entropy: stats, row losses and the step state must start at offset 0');
}

function fields(T: number, c: LogitsChunk, first: boolean, targets: Tensor) {
  return packParams([
    [T, 'u32'], [c.Vc, 'u32'], [c.v0, 'u32'], [first ? 1 : 0, 'u32'],
    [c.logits.offset, 'u32'], [c.Vc, 'u32'], [Slot.lossScale, 'u32'], [targets.offset, 'u32'],
  ]);
}

/** Merges one chunk into the running (max, sum, target logit) of every row. */
export function crossEntropyChunk(gpu: Gpu, program: Program, T: number, c: LogitsChunk, targets: Tensor, stats: Tensor, first: boolean): Promise<void> {
  atStart(stats);
  return gpu.record(program, pick(gpu, STATS), [gpu.uniforms.alloc(fields(T, c, first, targets)), c.logits.buffer, targets.buffer, stats.buffer], gpu.grid(T));
}

/** stats → lse per row and the loss of each row (0 where ignored). */
export function crossEntropyFinish(gpu: Gpu, program: Program, T: number, targets: Tensor, stats: Tensor, rowLoss: Tensor): Promise<void> {
  atStart(stats, rowLoss);
  const c = { logits: rowLoss, v0: 0, Vc: 0 };
  return gpu.record(program, FINISH, [gpu.uniforms.alloc(fields(T, c, false, targets)), rowLoss.buffer, targets.buffer, stats.buffer], [Math.ceil(T / 64)]);
}

/** Overwrites a logits chunk with d(mean loss)/d(logits), the mean's 1/N read from the step state. */
export function crossEntropyGrad(gpu: Gpu, program: Program, T: number, c: LogitsChunk, targets: Tensor, stats: Tensor, step: Tensor): Promise<void> {
  atStart(stats, step);
  return gpu.record(
    program, GRAD,
    [gpu.uniforms.alloc(fields(T, c, false, targets)), c.logits.buffer, targets.buffer, stats.buffer, step.buffer],
    gpu.grid(Math.ceil((T * c.Vc) / 256)),
  );
}

/**
 * Next-token targets for causal LM loss, as transformers shifts labels: each position's target is
 * the next label within its sequence of S tokens and, for packed rows, within its segment.
 */
export function shiftTargets(labels: ArrayLike<number>, S: number, segments?: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(labels.length).fill(IGNORE_TARGET);
  for (let t = 0; t < labels.length; t++) {
    if ((t + 1) % S === 0 || (segments && segments[t + 1] !== segments[t])) continue;
    const l = labels[t + 1]!;
    if (l !== IGNORE_INDEX && l >= 0) out[t] = l;
  }
  return out;
}

/** Float64 reference: per-row loss (0 where ignored) of logits [T, V]. */
export function crossEntropyRef(logits: ArrayLike<number>, targets: ArrayLike<number>, V: number): Float64Array {
  const T = targets.length;
  const loss = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    if (targets[t] === IGNORE_TARGET) continue;
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[t * V + v]!);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(logits[t * V + v]! - m);
    loss[t] = m + Math.log(s) - logits[t * V + targets[t]!]!;
  }
  return loss;
}
