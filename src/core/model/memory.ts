import type { ModelConfig } from './config.ts';
import { dims } from './layout.ts';
import { keepsLogits, logitsChunkRows } from './logits-chunks.ts';
import { statsPerRow } from '../kernels/norm.ts';
import { q4Groups, q4WordsPerRow } from '../kernels/matmul-q4.ts';
import type { BaseQuant } from './base-quant.ts';
import { extraGradScratch, extraLayerActs, extraLayerWeights, extraTables } from './block-extras-memory.ts';
import { moeLayerActs, moeLayerWeights } from './moe-memory.ts';
import type { Precision } from './precision.ts';
import { INPUT_WORDS } from './step-plan.ts';

export interface TrainingShape {
  readonly method: 'lora' | 'full';
  readonly batch: number;
  readonly seq: number;
  readonly r: number;
  /** LoRA modules per layer, with their in/out features. */
  readonly loraModules: readonly { in: number; out: number }[];
  readonly loraDropout: number;
  readonly gradCheckpointing: boolean;
  /** A validation plan is built too (forward only, one layer's activations). */
  readonly validation: boolean;
  /** How the base's linear weights are held (base-quant.ts); f32 when absent. */
  readonly quant?: BaseQuant;
  /** Full fine-tuning with frozen weights: bytes of the weights that train (their gradients and Adam state only). */
  readonly trainedBytes?: number;
  /** f16: an unquantised base holds its linear weights as halves (precision.ts); f32 when absent. */
  readonly precision?: Precision;
  /** ln1/ln2 are read through by their matmuls (normed-input.ts): no per-layer h1, h2. */
  readonly normFused?: boolean;
}

/**
 * GPU bytes a training run needs, by purpose, computed from the same allocations the step plan,
 * the parameter store and the optimizer make (checked against the memory ledger in tests).
 */
export function estimateTrainingMemory(cfg: ModelConfig, s: TrainingShape): Record<string, number> {
  const d = dims(cfg);
  const T = s.batch * s.seq;
  const L = cfg.layers;
  const f = 4;
  const ln = statsPerRow(cfg.norm);
  const align = (n: number) => Math.ceil(n / 64) * 64;
  // An int8 weight is a quarter of the words plus one scale per output row; NF4 rows are whole
  // groups of 64 at 8 words each, plus one scale per group. Halves pack two per word (in % 4 == 0).
  const halves = s.precision === 'f16' && (s.quant ?? 'none') === 'none';
  const linear = (out: number, inF: number) => {
    if (halves && inF % 4 === 0) return align((out * inF) / 2);
    if (s.quant === 'int4') return align(out * q4WordsPerRow(inF)) + align(out * q4Groups(inF));
    return s.quant === 'int8' && inF % 4 === 0 ? align((out * inF) / 4) + align(out) : align(out * inF);
  };
  const perLayerWeights =
    2 * d.H * (cfg.norm === 'layernorm' ? 2 : 1) + linear(d.qkvDim, d.H) + (cfg.attentionBias ? align(d.qkvDim) : 0) +
    linear(d.H, d.qDim) + (cfg.oBias ? align(d.H) : 0) + linear(d.upDim, d.H) + (cfg.mlpBias ? align(d.upDim) + align(d.H) : 0) + linear(d.H, d.inner) +
    extraLayerWeights(cfg);
  // MoE layers hold a router and experts (moe-memory.ts) instead of the one dense MLP.
  const layerWeights = cfg.moe ? perLayerWeights - linear(d.upDim, d.H) - linear(d.H, d.inner) + moeLayerWeights(cfg, align) : perLayerWeights;
  const tables = (cfg.tiedEmbeddings ? 1 : 2) * align(cfg.vocabSize * d.H) + (cfg.arch === 'gpt2' ? align(cfg.maxPositions * d.H) : 0);
  const weights = (L * layerWeights + tables + 2 * d.H) * f + (cfg.rope ? cfg.maxPositions * cfg.headDim * f : 0) + extraTables(cfg) * f;
  const adapterElements = L * s.loraModules.reduce((n, m) => n + align(s.r * m.in) + align(m.out * s.r), 0);
  const trainable = s.method === 'full' ? (s.trainedBytes ?? weights) : adapterElements * f;

  const loraActs = s.method === 'lora' ? s.loraModules.length * T * s.r : 0;
  // h1 and h2: [T, H] each, or 1 element each when the norms are read through (normed-input.ts).
  const normed = s.normFused ? 2 : 2 * T * d.H;
  const layerActs = normed + T * (2 * ln + d.qkvDim + d.qDim + d.heads + d.H + d.upDim + d.inner) + loraActs +
    extraLayerActs(cfg, T) + (cfg.moe ? moeLayerActs(cfg, T) : 0);
  const savedLayers = s.gradCheckpointing ? 1 : L;
  const residual = (L + 1) * T * d.H;
  const keep = keepsLogits(T, cfg.vocabSize, { train: true });
  const logits = T * (keep ? cfg.vocabSize : logitsChunkRows(T, cfg.vocabSize, Infinity, false));
  const head = T * d.H + T * ln + T * 3 + T + Math.ceil(T / 1024) + logits;
  const maxIn = Math.max(d.H, d.qDim, d.inner);
  const dropout = s.method === 'lora' && s.loraDropout > 0 ? 2 * T * maxIn : 0;
  const loraDt = s.method === 'lora' ? s.r * Math.max(1, s.loraModules.length) : 1;
  const gradScratch = T * (2 * d.H + d.qkvDim + d.qDim + d.upDim + d.inner + d.heads + loraDt) + extraGradScratch(cfg, T);
  const evalPlan = s.validation ? layerActs + residual + head + T : 0;
  return {
    weights,
    adapter: s.method === 'lora' ? trainable : 0,
    gradients: trainable,
    optimizer: 2 * trainable,
    activations: (savedLayers * layerActs + residual + head + gradScratch + dropout) * f,
    validation: evalPlan * f,
    inputs: T * INPUT_WORDS * f * (s.validation ? 2 : 1),
  };
}
