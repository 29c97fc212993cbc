import routeCode from '../../../shaders/moe_route.wgsl';
import routeBackwardCode from '../../../shaders/moe_route_backward.wgsl';
import auxCode from '../../../shaders/moe_aux.wgsl';
import combineCode from '../../../shaders/moe_combine.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { packParams } from '../gpu/params.ts';
import { launch1d } from './launch.ts';
import { Slot } from './step-state.ts';

const ROUTE: KernelSpec = { name: 'moe_route', code: routeCode, entry: 'route', bindings: ['uniform', 'read', 'rw', 'rw', 'rw'] };
const ROUTE_BACKWARD: KernelSpec = {
  name: 'moe_route_backward', code: routeBackwardCode, entry: 'route_backward',
  bindings: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'rw', 'read'],
};
const auxSpec = (entry: string): KernelSpec => ({
  name: 'moe_aux', code: auxCode, entry, bindings: ['uniform', 'read', 'read', 'read', 'rw', 'rw', 'read'],
});
const ROUTE_STATS = auxSpec('route_stats');
const AUX_LOSS = auxSpec('aux_loss');
const combineSpec = (entry: string): KernelSpec => ({ name: 'moe_combine', code: combineCode, entry, bindings: ['uniform', 'read', 'read', 'rw', 'rw'] });
const COMBINE_SCALE = combineSpec('combine_scale');
const COMBINE_BACKWARD = combineSpec('combine_backward');

/** The router's outputs for T tokens (each tensor starts its own buffer). */
export interface Routing {
  /** Router logits [T, R] (R = E, + 1 with a shared expert's gate). */
  readonly logits: Tensor;
  /** Softmax over the E experts [T, E]. */
  readonly probs: Tensor;
  /** Combine weight of every expert [T, R]: 0 where not chosen. */
  readonly comb: Tensor;
  /** 1 where chosen [T, E]. */
  readonly sel: Tensor;
}

export interface RouteShape {
  readonly T: number;
  readonly E: number;
  readonly K: number;
  readonly norm: boolean;
  readonly shared: boolean;
}

const R = (s: RouteShape): number => s.E + (s.shared ? 1 : 0);

function atStart(name: string, ...ts: Tensor[]): void {
  if (ts.some((t) => t.offset !== 0)) throw new Error(`${name}: its tensors must start their buffers`);
}

/** Softmax, top-k and combine weights from the router logits. */
export function moeRoute(gpu: Gpu, p: Program, s: RouteShape, r: Routing): Promise<void> {
  atStart('moe_route', r.logits, r.probs, r.comb, r.sel);
  const fields = [
    [s.T, 'u32'], [s.E, 'u32'], [s.K, 'u32'], [R(s), 'u32'], [s.norm ? 1 : 0, 'u32'], [s.shared ? 1 : 0, 'u32'], [0, 'u32'], [0, 'u32'],
  ] as const;
  return launch1d(gpu, p, ROUTE, fields, [r.logits.buffer, r.probs.buffer, r.comb.buffer, r.sel.buffer], s.T);
}

/** Size of the routing statistics of L layers (see moe_aux.wgsl). */
export const moeStatsSize = (L: number, E: number): number => L * 2 * E + 3 + E;

/** The token words the aux loss reads: next-token targets, and 1 for real tokens, 0 for padding. */
export interface AuxTokens {
  readonly targets: Tensor;
  readonly real: Tensor;
}

function auxBuffers(gpu: Gpu, s: RouteShape, L: number, layer: number, coef: number, r: Routing, tok: AuxTokens, stats: Tensor, step: Tensor) {
  const fields = packParams([
    [s.T, 'u32'], [s.E, 'u32'], [L, 'u32'], [layer, 'u32'], [Slot.lossSum, 'u32'], [tok.targets.offset, 'u32'], [tok.real.offset, 'u32'], [0, 'u32'],
    [coef, 'f32'], [0, 'u32'], [0, 'u32'], [0, 'u32'],
  ]);
  return [gpu.uniforms.alloc(fields), r.probs.buffer, r.sel.buffer, tok.targets.buffer, stats.buffer, step.buffer, tok.real.buffer];
}

/** Layer `layer`'s per-expert choice counts and probability sums over the real tokens into `stats`. */
export async function moeRouteStats(
  gpu: Gpu, p: Program, s: RouteShape, L: number, layer: number, r: Routing, tok: AuxTokens, stats: Tensor, step: Tensor,
): Promise<void> {
  atStart('moe_route_stats', r.probs, r.sel, stats, step);
  await gpu.record(p, ROUTE_STATS, auxBuffers(gpu, s, L, layer, 0, r, tok, stats, step), [Math.ceil(s.E / 256)]);
}

/** The load-balancing loss of all layers; adds coef · aux · (target tokens) to the step's loss sum. */
export async function moeAuxLoss(
  gpu: Gpu, p: Program, s: RouteShape, L: number, coef: number, r: Routing, tok: AuxTokens, stats: Tensor, step: Tensor,
): Promise<void> {
  atStart('moe_aux_loss', stats, step);
  await gpu.record(p, AUX_LOSS, auxBuffers(gpu, s, L, 0, coef, r, tok, stats, step), [1]);
}

/** d(router logits) from d(combine weights) and the aux loss (coefficient `coef`, over L layers; `real`: 0 for padding). */
export function moeRouteBackward(
  gpu: Gpu, p: Program, s: RouteShape, L: number, coef: number, r: Routing, dcomb: Tensor, stats: Tensor, step: Tensor, dlogits: Tensor, real: Tensor,
): Promise<void> {
  atStart('moe_route_backward', r.probs, r.comb, r.sel, dcomb, stats, step, dlogits);
  const N = L * s.T;
  const fields = [
    [s.T, 'u32'], [s.E, 'u32'], [R(s), 'u32'], [s.norm ? 1 : 0, 'u32'],
    [s.shared ? 1 : 0, 'u32'], [L * 2 * s.E, 'u32'], [Slot.lossScale, 'u32'], [real.offset, 'u32'],
    [coef / (N * N), 'f32'], [0, 'u32'], [0, 'u32'], [0, 'u32'],
  ] as const;
  const buffers = [dcomb.buffer, r.probs.buffer, r.comb.buffer, r.sel.buffer, stats.buffer, step.buffer, dlogits.buffer, real.buffer];
  return launch1d(gpu, p, ROUTE_BACKWARD, fields, buffers, s.T);
}

/** x [T, I] = comb[:, e] · act. */
export function moeCombineScale(gpu: Gpu, p: Program, T: number, I: number, rows: number, e: number, comb: Tensor, act: Tensor, x: Tensor): Promise<void> {
  atStart('moe_combine_scale', comb, act, x);
  const fields = [[T, 'u32'], [I, 'u32'], [rows, 'u32'], [e, 'u32']] as const;
  return launch1d(gpu, p, COMBINE_SCALE, fields, [comb.buffer, act.buffer, x.buffer, gpu.placeholder], T * I);
}

/** x: d(comb·act) → d(act) in place; dcomb[:, e] = rowwise x · act. */
export function moeCombineBackward(
  gpu: Gpu, p: Program, T: number, I: number, rows: number, e: number, comb: Tensor, act: Tensor, x: Tensor, dcomb: Tensor,
): Promise<void> {
  atStart('moe_combine_backward', comb, act, x, dcomb);
  const fields = [[T, 'u32'], [I, 'u32'], [rows, 'u32'], [e, 'u32']] as const;
  return launch1d(gpu, p, COMBINE_BACKWARD, fields, [comb.buffer, act.buffer, x.buffer, dcomb.buffer], T);
}
