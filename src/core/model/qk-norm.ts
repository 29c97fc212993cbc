/**
 * Per-head RMSNorm of q and k before RoPE (Qwen3's q_norm / k_norm), on the fused q|k|v
 * activation in place. The backward runs on dqkv after RoPE's inverse.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import { viewOf, type Tensor } from '../gpu/tensor.ts';
import { headNormBackward, headNormForward, headNormWeightGrad, type HeadNormArgs } from '../kernels/head-norm.ts';
import type { Dims } from './arch/types.ts';

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
}

function blocks(d: Dims, T: number, eps: number, t: QkNormTensors, qkv: Tensor): [HeadNormArgs, HeadNormArgs] {
  const common = { T, headDim: d.headDim, stride: d.qkvDim, eps, weightOffset: t.weightOffset ?? 0 };
  return [
    { ...common, heads: d.heads, x: viewOf(qkv, [T, d.qDim]), weight: t.qWeight, saved: t.raw, stats: t.stats },
    {
      ...common, heads: d.kvHeads, x: viewOf(qkv, [T, d.kvDim], d.qDim), weight: t.kWeight,
      saved: viewOf(t.raw, [T, d.kvDim], T * d.qDim), stats: viewOf(t.stats, [T, d.kvHeads], T * d.heads),
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
