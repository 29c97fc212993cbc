import code from '../../../shaders/adapter_gate.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { launch1d } from './launch.ts';

const spec = (entry: string, bindings: KernelSpec['bindings']): KernelSpec => ({ name: 'adapter_gate', code, entry, bindings });
const SOFTMAX = spec('softmax_rows', ['uniform', 'rw']);
const SCALE = spec('scale_blocks', ['uniform', 'rw', 'read', 'read', 'read']);
const BLOCKS_BACKWARD = spec('blocks_backward', ['uniform', 'rw', 'read', 'read', 'read', 'rw']);
const SOFTMAX_BACKWARD = spec('softmax_backward', ['uniform', 'rw', 'read', 'read']);

/** Shapes of one gated site: T tokens, K adapters, R = Σ r_k stacked rank columns. */
export interface GateShape {
  readonly T: number;
  readonly K: number;
  readonly R: number;
}

const fields = (s: GateShape, xOff: number, gOff: number, yOff: number) =>
  [[s.T, 'u32'], [s.K, 'u32'], [s.R, 'u32'], [xOff, 'u32'], [gOff, 'u32'], [yOff, 'u32'], [0, 'u32'], [0, 'u32']] as const;

/** In place: logits [T, K] → softmax per row. */
export function gateSoftmax(gpu: Gpu, p: Program, s: GateShape, logits: Tensor): Promise<void> {
  return launch1d(gpu, p, SOFTMAX, fields(s, 0, 0, logits.offset), [logits.buffer], s.T);
}

/** out[i, c] = t[i, c] · g[i, owner[c]]: each adapter's rank block weighted by its gate. */
export function gateScaleBlocks(gpu: Gpu, p: Program, s: GateShape, t: Tensor, g: Tensor, owner: Tensor, out: Tensor): Promise<void> {
  return launch1d(gpu, p, SCALE, fields(s, t.offset, g.offset, out.offset), [out.buffer, t.buffer, g.buffer, owner.buffer], s.T * s.R);
}

/**
 * Backward of gateScaleBlocks: dg[i, k] += Σ_{c in block k} d[i, c]·t[i, c], then, in place,
 * d[i, c] ← g[i, owner[c]]·d[i, c] (the gradient of t). dg has offset 0 in its buffer.
 */
export function gateBlocksBackward(gpu: Gpu, p: Program, s: GateShape, t: Tensor, g: Tensor, owner: Tensor, d: Tensor, dg: Tensor): Promise<void> {
  if (dg.offset !== 0) throw new Error('gateBlocksBackward: dg must start its buffer');
  return launch1d(
    gpu, p, BLOCKS_BACKWARD, fields(s, t.offset, g.offset, d.offset), [d.buffer, t.buffer, g.buffer, owner.buffer, dg.buffer], s.T * s.K,
  );
}

/** In place: dg [T, K] → d(logits) = g ⊙ (dg − Σ_k g_k·dg_k). */
export function gateSoftmaxBackward(gpu: Gpu, p: Program, s: GateShape, g: Tensor, dg: Tensor): Promise<void> {
  if (dg.offset !== 0) throw new Error('gateSoftmaxBackward: dg must start its buffer');
  return launch1d(gpu, p, SOFTMAX_BACKWARD, fields(s, 0, g.offset, 0), [dg.buffer, g.buffer, g.buffer], s.T);
}
