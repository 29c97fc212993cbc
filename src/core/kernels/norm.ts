import code from '../../../shaders/norm.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { packParams, type ParamField } from '../gpu/params.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { launchRows } from './launch.ts';
import { pick, reducingKernel } from './row-reduction.ts';

export type NormKind = 'layernorm' | 'rmsnorm';

const FORWARD = ['uniform', 'read', 'read', 'read', 'rw', 'rw'] as const;
const BACKWARD = ['uniform', 'read', 'read', 'read', 'rw', 'read'] as const;
const PARAMS = ['uniform', 'read', 'read', 'read', 'rw', 'read'] as const;
/** The statistics entries never touch y: it is bound read-only to a placeholder. */
const STATS = ['uniform', 'read', 'read', 'read', 'read', 'rw'] as const;
const spec = (entry: string, bindings: KernelSpec['bindings']) => reducingKernel('norm', code, entry, bindings);
const SPECS = {
  layernorm: {
    forward: spec('layernorm_forward', FORWARD), stats: spec('layernorm_stats', STATS),
    backward: spec('layernorm_backward', BACKWARD), params: spec('layernorm_param_grads', PARAMS),
  },
  rmsnorm: {
    forward: spec('rmsnorm_forward', FORWARD), stats: spec('rmsnorm_stats', STATS),
    backward: spec('rmsnorm_backward', BACKWARD), params: spec('rmsnorm_param_grads', PARAMS),
  },
};

/** Statistics saved per row by the forward: 2 floats (mean, rstd) for LayerNorm, 1 (rstd) for RMSNorm. */
export const statsPerRow = (kind: NormKind): number => (kind === 'layernorm' ? 2 : 1);

export interface NormArgs {
  readonly kind: NormKind;
  readonly rows: number;
  readonly D: number;
  readonly eps: number;
  readonly x: Tensor;
  readonly weight: Tensor;
  /** LayerNorm only. */
  readonly bias?: Tensor;
  readonly stats: Tensor;
  /** RMSNorm multiplies by (weightOffset + weight) (Gemma: 1); default 0. */
  readonly weightOffset?: number;
}

function fields(a: NormArgs, y: Tensor, dy: Tensor | null, accumulate: boolean): ParamField[] {
  return [
    [a.rows, 'u32'], [a.D, 'u32'], [a.eps, 'f32'], [a.bias ? 1 : 0, 'u32'],
    [a.x.offset, 'u32'], [a.weight.offset, 'u32'], [a.bias?.offset ?? 0, 'u32'], [y.offset, 'u32'],
    [a.stats.offset, 'u32'], [dy?.offset ?? 0, 'u32'], [accumulate ? 1 : 0, 'u32'], [a.weightOffset ?? 0, 'f32'],
  ];
}

/** y (+)= norm(x); `accumulate` (RMSNorm only) adds onto y, e.g. a residual stream (Gemma's post-norms). */
export function normForward(gpu: Gpu, program: Program, a: NormArgs, y: Tensor, accumulate = false): Promise<void> {
  if (accumulate && a.kind !== 'rmsnorm') throw new Error('norm forward: only RMSNorm accumulates');
  const buffers = [a.x.buffer, a.weight.buffer, a.bias?.buffer ?? gpu.placeholder, y.buffer, a.stats.buffer];
  return launchRows(gpu, program, pick(gpu, SPECS[a.kind].forward), fields(a, y, null, accumulate), buffers, a.rows);
}

/** Only the per-row statistics of norm(x), for consumers that read x through the norm (matmul-prologue.ts). */
export function normStats(gpu: Gpu, program: Program, a: NormArgs): Promise<void> {
  const buffers = [a.x.buffer, a.weight.buffer, a.bias?.buffer ?? gpu.placeholder, gpu.placeholder, a.stats.buffer];
  return launchRows(gpu, program, pick(gpu, SPECS[a.kind].stats), fields(a, a.stats, null, false), buffers, a.rows);
}

/** dx (+)= ∂norm/∂x · dy (accumulate adds into a residual-stream gradient). */
export function normBackward(gpu: Gpu, program: Program, a: NormArgs, dy: Tensor, dx: Tensor, accumulate: boolean): Promise<void> {
  const buffers = [a.x.buffer, a.weight.buffer, a.stats.buffer, dx.buffer, dy.buffer];
  return launchRows(gpu, program, pick(gpu, SPECS[a.kind].backward), fields(a, dx, dy, accumulate), buffers, a.rows);
}

/** dWeight += Σ_rows dy·x̂ (and dBias += Σ_rows dy for LayerNorm), one dispatch each. */
export async function normParamGrads(gpu: Gpu, program: Program, a: NormArgs, dy: Tensor, dWeight: Tensor, dBias?: Tensor): Promise<void> {
  const targets: [Tensor, boolean][] = [[dWeight, false]];
  if (dBias) targets.push([dBias, true]);
  for (const [out, isBias] of targets) {
    const f = fields({ ...a, weight: out, bias: isBias ? out : undefined }, out, dy, true);
    const buffers = [a.x.buffer, gpu.placeholder, a.stats.buffer, out.buffer, dy.buffer];
    await gpu.record(program, SPECS[a.kind].params.shared, [gpu.uniforms.alloc(packParams(f)), ...buffers], [Math.ceil(a.D / 64)]);
  }
}

/** Float64 reference: y for every row. */
export function normRef(
  kind: NormKind, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, rows: number, D: number, eps: number,
): Float64Array {
  const y = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    if (kind === 'layernorm') {
      for (let c = 0; c < D; c++) mean += x[r * D + c]!;
      mean /= D;
    }
    let q = 0;
    for (let c = 0; c < D; c++) q += (x[r * D + c]! - mean) ** 2;
    const rstd = 1 / Math.sqrt(q / D + eps);
    for (let c = 0; c < D; c++) y[r * D + c] = (x[r * D + c]! - mean) * rstd * w[c]! + (b ? b[c]! : 0);
  }
  return y;
}
