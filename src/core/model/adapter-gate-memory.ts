/**
 * GPU bytes of training an adapter gate: the base, the K adapters stacked (frozen: no gradients
 * or Adam state), the gate's W_g and b per layer with their gradients and AdamW moments, and the
 * activations of a LoRA step of rank R = Σ r_k plus the gate's own (g, dg and the scaled t per layer).
 */
import type { ModelConfig } from './config.ts';
import { estimateTrainingMemory } from './memory.ts';

export interface GateTrainingShape {
  readonly ranks: readonly number[];
  /** The modules the stacked adapter adapts per layer, with their in/out features. */
  readonly modules: readonly { in: number; out: number }[];
  readonly batch: number;
  readonly seq: number;
}

/** Parameters of a gate over K adapters: W_g [K, H] and b [K] per layer. */
export const gateParameterCount = (cfg: ModelConfig, K: number): number => cfg.layers * K * (cfg.hidden + 1);

export function estimateGateMemory(cfg: ModelConfig, s: GateTrainingShape): Record<string, number> {
  const R = s.ranks.reduce((n, r) => n + r, 0);
  const K = s.ranks.length;
  const step = estimateTrainingMemory(cfg, {
    method: 'lora', batch: s.batch, seq: s.seq, r: R, loraModules: s.modules, loraDropout: 0, gradCheckpointing: false, validation: false,
  });
  const gate = gateParameterCount(cfg, K) * 4;
  const T = s.batch * s.seq;
  return {
    weights: step.weights,
    adapters: step.adapter,
    gate,
    gradients: gate,
    optimizer: 2 * gate,
    activations: step.activations + cfg.layers * T * (2 * K + R) * 4,
    inputs: step.inputs,
  };
}
