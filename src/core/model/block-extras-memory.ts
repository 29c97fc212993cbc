/**
 * Elements that the optional block features allocate beyond a plain Llama/GPT-2 block (q/k norms,
 * post-norms, sliding-window layers), for the memory estimate (memory.ts); they mirror
 * Transformer.allocLayerActs / allocGradScratch and the parameter layout.
 */
import type { ModelConfig } from './config.ts';
import { dims } from './layout.ts';
import { windowBoundsElements } from './local-attention.ts';
import { qkNormWidths } from './qk-norm.ts';

/** Per-layer weights: q/k norm weights and the two post-norms. */
export function extraLayerWeights(cfg: ModelConfig): number {
  const d = dims(cfg);
  return (cfg.qkNorm ? qkNormWidths(cfg, d).reduce((a, b) => a + b) : 0) + (cfg.postNorms ? 2 * d.H : 0);
}

/** Tables outside the layers: the sliding layers' own RoPE table. */
export function extraTables(cfg: ModelConfig): number {
  return cfg.localAttention ? cfg.maxPositions * cfg.headDim : 0;
}

/** One layer's saved activations for T tokens. */
export function extraLayerActs(cfg: ModelConfig, T: number): number {
  const d = dims(cfg);
  const qk = cfg.qkNorm ? T * (d.qDim + d.kvDim + d.heads + d.kvHeads) : 2;
  const post = cfg.postNorms ? 2 * T * (d.H + 1) : 4;
  return qk + post + windowBoundsElements(cfg, T);
}

/** Gradient scratch shared by the layers. */
export function extraGradScratch(cfg: ModelConfig, T: number): number {
  return cfg.postNorms ? T * cfg.hidden : 1;
}
