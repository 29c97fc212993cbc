import code from '../../../shaders/head_norm.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { ParamField } from '../gpu/params.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { launch1d } from './launch.ts';

const spec = (entry: string, bindings: KernelSpec['bindings']): KernelSpec => ({ name: 'head_norm', code, entry, bindings });
const FORWARD = spec('head_norm_forward', ['uniform', 'rw', 'read', 'rw', 'rw']);
const BACKWARD = spec('head_norm_backward', ['uniform', 'rw', 'read', 'read', 'read']);
const WEIGHT_GRAD = spec('head_norm_weight_grad', ['uniform', 'read', 'rw', 'read', 'read']);

/** RMSNorm of every head of a q or k block inside a fused q|k|v row (Qwen3's q_norm / k_norm). */
export interface HeadNormArgs {
  readonly T: number;
  readonly heads: number;
  readonly headDim: number;
  /** Elements between consecutive tokens. */
  readonly stride: number;
  /** The block's first element (e.g. the qkv activation offset by qDim for k). */
  readonly x: Tensor;
  readonly weight: Tensor;
  readonly eps: number;
  /** The input, saved by the forward: [T·heads, headDim]. */
  readonly saved: Tensor;
  /** 1/rms per (token, head). */
  readonly stats: Tensor;
  /** The norm multiplies by (weightOffset + weight) (Gemma: 1); default 0. */
  readonly weightOffset?: number;
}

function fields(a: HeadNormArgs, w: Tensor, accumulate: boolean): ParamField[] {
  return [
    [a.T, 'u32'], [a.heads, 'u32'], [a.headDim, 'u32'], [a.stride, 'u32'],
    [a.x.offset, 'u32'], [w.offset, 'u32'], [a.saved.offset, 'u32'], [a.stats.offset, 'u32'],
    [a.eps, 'f32'], [accumulate ? 1 : 0, 'u32'], [a.weightOffset ?? 0, 'f32'], [0, 'u32'],
  ];
}

/** x ← x / rms(x) · weight per head, in place; saves x and 1/rms. */
export function headNormForward(gpu: Gpu, program: Program, a: HeadNormArgs): Promise<void> {
  return launch1d(gpu, program, FORWARD, fields(a, a.weight, false), [a.x.buffer, a.weight.buffer, a.saved.buffer, a.stats.buffer], a.T * a.heads);
}

/** `dy` (laid out like x) becomes dx in place. */
export function headNormBackward(gpu: Gpu, program: Program, a: HeadNormArgs, dy: Tensor): Promise<void> {
  const f = fields({ ...a, x: dy }, a.weight, false);
  return launch1d(gpu, program, BACKWARD, f, [dy.buffer, a.weight.buffer, a.saved.buffer, a.stats.buffer], a.T * a.heads);
}

/** dWeight (+)= Σ dy · x̂ over tokens and heads; run before headNormBackward overwrites dy. */
export function headNormWeightGrad(gpu: Gpu, program: Program, a: HeadNormArgs, dy: Tensor, dWeight: Tensor, accumulate = true): Promise<void> {
  const f = fields({ ...a, x: dy }, dWeight, accumulate);
  return launch1d(gpu, program, WEIGHT_GRAD, f, [dy.buffer, dWeight.buffer, a.saved.buffer, a.stats.buffer], a.headDim);
}

/** Float64 reference on a dense [rows, headDim] array. */
export function headNormRef(x: ArrayLike<number>, w: ArrayLike<number>, rows: number, D: number, eps: number): Float64Array {
  const y = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < D; i++) ss += x[r * D + i]! ** 2;
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let i = 0; i < D; i++) y[r * D + i] = x[r * D + i]! * inv * w[i]!;
  }
  return y;
}
