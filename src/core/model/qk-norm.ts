/**
 * RMSNorm of q and k before RoPE, on the fused q|k|v activation in place: per head (Qwen3's
 * q_norm / k_norm) or over the whole q and k projections (OLMoE). The backward runs on dqkv after
 * RoPE's inverse.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import { viewOf, type Tensor } from '../gpu/tensor.ts';
import { headNormBackward, headNormForward, headNormWeightGrad, type HeadNormArgs } from '../kernels/head-norm.ts';
import type { Dims, ModelConfig } from './arch/types.ts';

/** Widths of the q_norm and k_norm weights: head_dim each, or qDim and kvDim when they span the projections. */
export function qkNormWidths(cfg: Pick<ModelConfig, 'qkNormWhole'>, d: Dims): [number, number] {
  return cfg.qkNormWhole ? [d.qDim, d.kvDim] : [d.headDim, d.headDim];
}

export interface QkNormTensors {
  readonly qkv: Tensor;
  /** The q and k blocks as they were before the norm: [T, qDim + kvDim]. */
  readonly raw: Tensor;
  /** 1/rms per (token, head): [T, heads + kvHeads]. */
  readonly stats: Tensor;
  readonly qWeight: Tensor;
  readonly kWeight: Tensor;
  /** The norms multiply by (weightOffset + weight) (Gemma: 1). */
  readonly weightOffset?: number;
  /** One norm over the whole q block and one over the whole k block (OLMoE), not one per head. */
  readonly whole?: boolean;
}

function blocks(d: Dims, T: number, eps: number, t: QkNormTensors, qkv: Tensor): [HeadNormArgs, HeadNormArgs] {
  const common = { T, stride: d.qkvDim, eps, weightOffset: t.weightOffset ?? 0 };
  // A whole-projection norm is the per-head kernel with one head as wide as the block.
  const [qHeads, kHeads] = t.whole ? [1, 1] : [d.heads, d.kvHeads];
  return [
    { ...common, heads: qHeads, headDim: d.qDim / qHeads, x: viewOf(qkv, [T, d.qDim]), weight: t.qWeight, saved: t.raw, stats: t.stats },
    {
      ...common, heads: kHeads, headDim: d.kvDim / kHeads, x: viewOf(qkv, [T, d.kvDim], d.qDim), weight: t.kWeight,
      saved: viewOf(t.raw, [T, d.kvDim], T * d.qDim), stats: viewOf(t.stats, [T, kHeads], T * qHeads),
    },
  ];
}

export async function qkNormForward(gpu: Gpu, p: Program, d: Dims, T: number, eps: number, t: QkNormTensors): Promise<void> {
  for (const a of blocks(d, T, eps, t, t.qkv)) await headNormForward(gpu, p, a);
}

/** dqkv's q and k blocks become the gradients before the norm; weight gradients accumulate when given. */
export async function qkNormBackward(
  gpu: Gpu, p: Program, d: Dims, T: number, eps: number, t: QkNormTensors, dqkv: Tensor, dWeights?: { q: Tensor; k: Tensor },
): Promise<void> {
  const [q, k] = blocks(d, T, eps, t, dqkv);
  if (dWeights) {
    await headNormWeightGrad(gpu, p, q, q.x, dWeights.q);
    await headNormWeightGrad(gpu, p, k, k.x, dWeights.k);
  }
  await headNormBackward(gpu, p, q, q.x);
  await headNormBackward(gpu, p, k, k.x);
}
