/**
 * Kernels of the sparse (gathered) expert path (shaders/moe_gather.wgsl): the per-expert token
 * lists, matmuls over one expert's segment with gathered / scattered rows, and the combine-weight
 * scaling. Segment sizes live on the GPU; grids are sized for T rows and idle workgroups return.
 */
import code from '../../../shaders/moe_gather.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { packParams, type ParamField } from '../gpu/params.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { launch1d } from './launch.ts';

const spec = (entry: string, bindings: KernelSpec['bindings']): KernelSpec => ({ name: 'moe_gather', code, entry, bindings });
const DISPATCH = spec('dispatch', ['uniform', 'read', 'read', 'rw']);
const SEG_MM = spec('seg_mm', ['uniform', 'read', 'read', 'read', 'rw']);
const SEG_WGRAD = spec('seg_wgrad', ['uniform', 'read', 'read', 'read', 'rw']);
const SEG_SCALE = spec('seg_scale', ['uniform', 'read', 'read', 'read', 'rw']);
const SEG_SCALE_BACKWARD = spec('seg_scale_backward', ['uniform', 'read', 'read', 'rw', 'rw']);

/** Columns per workgroup and rows per invocation of the segment matmuls. */
const [COLS, ROWS] = [64, 4];

/** Words of the dispatch table of T tokens with k experts each among E. */
export const dispatchSize = (T: number, E: number, K: number): number => 2 * E + 2 * T * K;

/** The layer's routing shape and its dispatch table (moe_gather.wgsl's tbl). */
export interface Segments {
  readonly T: number;
  readonly E: number;
  readonly K: number;
  /** R = E (+1 with a shared expert's gate): the row width of comb and dcomb. */
  readonly R: number;
  readonly table: Tensor;
}

/** An operand of a segment matmul: rows are segment-local, or gathered from / scattered to tokens. */
export interface SegOperand {
  readonly t: Tensor;
  readonly ld: number;
  readonly byToken?: boolean;
}

function fields(s: Segments, e: number, dims: { N: number; K: number }, o: {
  a: SegOperand; b: SegOperand; c: SegOperand; flags: number; alpha?: number; beta?: number;
}): ParamField[] {
  return [
    [s.T, 'u32'], [dims.N, 'u32'], [dims.K, 'u32'], [e, 'u32'],
    [o.a.ld, 'u32'], [o.b.ld, 'u32'], [o.c.ld, 'u32'], [o.flags, 'u32'],
    [o.a.t.offset, 'u32'], [o.b.t.offset, 'u32'], [o.c.t.offset, 'u32'], [s.E, 'u32'],
    [o.alpha ?? 1, 'f32'], [o.beta ?? 0, 'f32'], [s.T * s.K, 'u32'], [s.R, 'u32'],
  ];
}

const uniformOf = (gpu: Gpu, f: readonly ParamField[]) => gpu.uniforms.alloc(packParams(f));

function startsBuffer(name: string, ...ts: Tensor[]): void {
  if (ts.some((t) => t.offset !== 0)) throw new Error(`${name}: its tensors must start their buffers`);
}

/** The segments of every expert from the routing's choices (sel [T, E]) and weights (comb [T, R]). */
export async function moeDispatch(gpu: Gpu, p: Program, s: Segments, sel: Tensor, comb: Tensor): Promise<void> {
  startsBuffer('moe_dispatch', s.table, sel, comb);
  if (s.E > 256) throw new Error(`moe_dispatch: at most 256 experts, got ${s.E}`);
  const zero = { t: s.table, ld: 0 };
  const uniform = uniformOf(gpu, fields(s, 0, { N: 0, K: 0 }, { a: zero, b: zero, c: zero, flags: 0 }));
  await gpu.record(p, DISPATCH, [uniform, sel.buffer, comb.buffer, s.table.buffer], [1]);
}

/** Expert e: C[i, n] = alpha · Σ_k A[i, k] · B(k, n) + beta · C over its rows; B is [N, K] when transB. */
export async function segMatmul(
  gpu: Gpu, p: Program, s: Segments, e: number, dims: { N: number; K: number; transB: boolean },
  o: { a: SegOperand; b: SegOperand; c: SegOperand; alpha?: number; beta?: number },
): Promise<void> {
  const flags = (o.a.byToken ? 1 : 0) | (o.c.byToken ? 2 : 0) | (dims.transB ? 4 : 0);
  const uniform = uniformOf(gpu, fields(s, e, dims, { ...o, flags }));
  const grid = [Math.ceil(dims.N / COLS), Math.ceil(s.T / ROWS)] as const;
  await gpu.record(p, SEG_MM, [uniform, s.table.buffer, o.a.t.buffer, o.b.t.buffer, o.c.t.buffer], grid);
}

/** Expert e's weight gradient: C [N, K] = alpha · Σ_i A[i, n] · X[i, k] + beta · C over its rows. */
export async function segWeightGrad(
  gpu: Gpu, p: Program, s: Segments, e: number, dims: { N: number; K: number },
  o: { a: SegOperand; x: SegOperand; c: SegOperand; alpha?: number; beta?: number },
): Promise<void> {
  const flags = (o.a.byToken ? 1 : 0) | (o.x.byToken ? 8 : 0);
  const uniform = uniformOf(gpu, fields(s, e, dims, { a: o.a, b: o.x, c: o.c, flags, alpha: o.alpha, beta: o.beta }));
  const grid = [Math.ceil(dims.K / COLS), Math.ceil(dims.N / ROWS)] as const;
  await gpu.record(p, SEG_WGRAD, [uniform, s.table.buffer, o.a.t.buffer, o.x.t.buffer, o.c.t.buffer], grid);
}

/** Expert e's rows: scaled = combine weight · act (both [T, width], segment-local rows). */
export function segScale(gpu: Gpu, p: Program, s: Segments, e: number, width: number, act: Tensor, scaled: Tensor): Promise<void> {
  const op = (t: Tensor) => ({ t, ld: width });
  const f = fields(s, e, { N: width, K: 0 }, { a: op(act), b: op(act), c: op(scaled), flags: 0 });
  return launch1d(gpu, p, SEG_SCALE, f, [s.table.buffer, act.buffer, act.buffer, scaled.buffer], s.T * width);
}

/** x: d(scaled) → d(act) in place, and dcomb[token, e] = Σ d(scaled) · act for expert e's rows. */
export function segScaleBackward(
  gpu: Gpu, p: Program, s: Segments, e: number, width: number, act: Tensor, x: Tensor, dcomb: Tensor,
): Promise<void> {
  startsBuffer('moe_seg_scale_backward', dcomb);
  const op = (t: Tensor) => ({ t, ld: width });
  const f = fields(s, e, { N: width, K: 0 }, { a: op(act), b: op(act), c: op(x), flags: 0 });
  return launch1d(gpu, p, SEG_SCALE_BACKWARD, f, [s.table.buffer, act.buffer, dcomb.buffer, x.buffer], s.T);
}
