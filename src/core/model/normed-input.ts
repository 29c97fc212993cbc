import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { NORMED_STORAGE_BINDINGS, type NormedOperand } from '../kernels/matmul-prologue.ts';
import type { NormArgs } from '../kernels/norm.ts';
import type { ModelConfig } from './config.ts';
import type { Mat } from './linear.ts';
import type { LoraAdapter } from './lora.ts';

/**
 * The layer norms ln1/ln2 folded into their consumers' operand reads: the norm forward saves only
 * its per-row statistics and every matmul that reads h = norm(x) (the q|k|v and up projections,
 * LoRA's x·Aᵀ, the backward's dA and dW products) reads x through the norm (matmul-prologue.ts),
 * so the [T, H] buffers h1 and h2 are neither written nor kept. Decided once per plan, when its
 * buffers are allocated (layer-buffers.ts); where a consumer reads h1/h2 other than through a
 * matmul (the adapter gate, DoRA, LoRA dropout, MoE routing and gathers) the model keeps them.
 * `gpu.tuning.normFuse` forces it; unset, hardware adapters fold and software ones do not (on
 * lavapipe the per-element transform inside the matmul loads cost more than the writes it saves).
 */

/** Storage buffers of the widest consumer: the matmul's four, LoRA's epilogue two, the activation's one, the view's. */
const WIDEST = 4 + 2 + 1 + NORMED_STORAGE_BINDINGS;

/** What the choice reads of the model (transformer.ts passes itself). */
export interface NormFuseHost {
  readonly gpu: Gpu;
  readonly cfg: ModelConfig;
  readonly lora: LoraAdapter | null;
  readonly gate: unknown;
  /** Whether LayerNorm's weight and bias of every layer norm share one buffer (one binding for both). */
  normParamsShareBuffers(): boolean;
}

/** Whether the layer norms are folded into their consumers on this device for this model as it is now. */
export function normFuses(model: NormFuseHost): boolean {
  const { gpu, cfg, lora } = model;
  if (!(gpu.tuning.normFuse ?? !gpu.adapter.software)) return false;
  if (cfg.moe || model.gate) return false;
  if (lora && (lora.settings.dropout > 0 || lora.modules.some((m) => m.magnitude))) return false;
  return gpu.limits.maxStorageBuffersPerShaderStage >= WIDEST && model.normParamsShareBuffers();
}

/** The layer input h = norm(x) as its consumers read it: the saved h, or x through the norm. */
export function layerInput(args: NormArgs, h: Tensor, fused: boolean): Mat {
  if (!fused) return { t: h, ld: args.D };
  const view: NormedOperand = {
    kind: args.kind, x: args.x, ld: args.D, stats: args.stats, weight: args.weight, bias: args.bias,
    weightOffset: args.kind === 'rmsnorm' ? args.weightOffset ?? 0 : 0,
  };
  return { t: args.x, ld: args.D, norm: view };
}
