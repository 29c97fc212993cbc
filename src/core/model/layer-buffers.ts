import { viewOf, type Tensor } from '../gpu/tensor.ts';
import { statsPerRow } from '../kernels/norm.ts';
import type { ModelConfig } from './config.ts';
import type { Dims } from './layout.ts';
import type { LoraAdapter } from './lora.ts';
import { windowBoundsElements } from './local-attention.ts';
import { allocMoeActs, type MoeActs } from './moe-block.ts';
import type { AdapterGate, GateActs } from './adapter-gate.ts';

/** Activations of one layer, saved by the forward for the backward (or shared when recomputed). */
export interface LayerActs {
  /** ln1/ln2 are read through by their matmuls (normed-input.ts): h1 and h2 are 1 element, never written. */
  readonly normFused: boolean;
  readonly h1: Tensor;
  readonly st1: Tensor;
  readonly qkv: Tensor;
  readonly att: Tensor;
  readonly lse: Tensor;
  readonly xm: Tensor;
  readonly h2: Tensor;
  readonly st2: Tensor;
  readonly up: Tensor;
  readonly act: Tensor;
  /** q and k before their per-head norm, and its 1/rms (models with q/k norms; else 1 element). */
  readonly qkRaw: Tensor;
  readonly qkStats: Tensor;
  /** LoRA's x·Aᵀ per module of the layer (by slot), [T, r]. */
  readonly loraT: readonly Tensor[];
  /** Attention and MLP outputs before their post-norms, and the norms' 1/rms (models with post-norms; else 1 element). */
  readonly attnOut: Tensor;
  readonly attnOutStats: Tensor;
  readonly mlpOut: Tensor;
  readonly mlpOutStats: Tensor;
  /** u32 query then key bounds of a sliding-window layer (models with such layers; else 1 element). */
  readonly windowBounds: Tensor;
  /** Routing of a mixture-of-experts layer (moe-block.ts). */
  readonly moe?: MoeActs;
  /** The adapter gate's weights of this layer (adapter-gate.ts). */
  readonly gate?: GateActs;
}

/** Gradient scratch shared by every layer's backward. */
export interface GradScratch {
  readonly dres: Tensor;
  readonly dh: Tensor;
  readonly dqkv: Tensor;
  readonly datt: Tensor;
  readonly dup: Tensor;
  readonly dact: Tensor;
  readonly delta: Tensor;
  readonly loraDt: Tensor;
  /** Dropout output of the module being processed ([T, max in]). */
  readonly dropped: Tensor;
  /** Gradient of a branch output before its post-norm ([T, H] with post-norms; else 1 element). */
  readonly dPostNorm: Tensor;
}

/** Per-token inputs of a plan, all u32. */
export interface TokenInputs {
  readonly ids: Tensor;
  readonly positions: Tensor;
  readonly targets: Tensor;
  readonly qBounds: Tensor;
  readonly kBounds: Tensor;
  /** 1 for real tokens, 0 for padding (training plans: the MoE aux loss leaves padding out). */
  readonly real?: Tensor;
}

/** What the allocations read of the model (transformer.ts passes itself). */
export interface LayerBuffersHost {
  readonly cfg: ModelConfig;
  readonly d: Dims;
  readonly lora: LoraAdapter | null;
  readonly gate: AdapterGate | null;
  /** Whether plans allocated now fold ln1/ln2 into their matmuls (normed-input.ts). */
  normFuses(): boolean;
}

type Alloc = (elements: number, label: string) => Tensor;

/** Allocates one layer's activations for T tokens. */
export function allocLayerActs(model: LayerBuffersHost, T: number, alloc: Alloc): LayerActs {
  const d = model.d;
  const perLayer = model.lora?.modules.filter((x) => x.layer === 0).length ?? 0;
  // One buffer for every module's x·Aᵀ: fused LoRA binds them together (lora-fused.ts).
  const tr = T * (model.lora?.settings.r ?? 0);
  const tAll = perLayer ? alloc(perLayer * tr, 'lora-t') : null;
  const loraT = Array.from({ length: perLayer }, (_, i) => viewOf(tAll!, [tr], i * tr));
  const normFused = model.normFuses();
  const normed = normFused ? 1 : T * d.H;
  return {
    normFused,
    h1: alloc(normed, 'h1'), st1: alloc(T * statsPerRow(model.cfg.norm), 'st1'), qkv: alloc(T * d.qkvDim, 'qkv'),
    att: alloc(T * d.qDim, 'att'), lse: alloc(T * d.heads, 'lse'), xm: alloc(T * d.H, 'xm'),
    h2: alloc(normed, 'h2'), st2: alloc(T * statsPerRow(model.cfg.norm), 'st2'), up: alloc(T * d.upDim, 'up'), act: alloc(T * d.inner, 'act'),
    qkRaw: alloc(model.cfg.qkNorm ? T * (d.qDim + d.kvDim) : 1, 'qk-raw'), qkStats: alloc(model.cfg.qkNorm ? T * (d.heads + d.kvHeads) : 1, 'qk-stats'),
    loraT,
    ...allocPostNormActs(model, T, alloc),
    windowBounds: alloc(windowBoundsElements(model.cfg, T), 'window-bounds'),
    moe: model.cfg.moe ? allocMoeActs(model.cfg.moe, T, alloc) : undefined,
    gate: model.gate?.allocActs(T, alloc),
  };
}

function allocPostNormActs(model: LayerBuffersHost, T: number, alloc: Alloc) {
  const [n, rows] = model.cfg.postNorms ? [T * model.d.H, T] : [1, 1];
  return { attnOut: alloc(n, 'attn-out'), attnOutStats: alloc(rows, 'attn-out-st'), mlpOut: alloc(n, 'mlp-out'), mlpOutStats: alloc(rows, 'mlp-out-st') };
}

/** Allocates the gradient scratch every layer's backward shares. */
export function allocGradScratch(model: LayerBuffersHost, T: number, alloc: Alloc): GradScratch {
  const d = model.d;
  const r = model.lora?.settings.r ?? 1;
  const perLayer = Math.max(1, model.lora?.modules.filter((x) => x.layer === 0).length ?? 1);
  const maxIn = Math.max(d.H, d.qDim, d.inner);
  return {
    dres: alloc(T * d.H, 'dres'), dh: alloc(T * d.H, 'dh'), dqkv: alloc(T * d.qkvDim, 'dqkv'), datt: alloc(T * d.qDim, 'datt'),
    dup: alloc(T * d.upDim, 'dup'), dact: alloc(T * d.inner, 'dact'), delta: alloc(T * d.heads, 'delta'),
    loraDt: alloc(T * r * perLayer, 'lora-dt'), dropped: alloc(model.lora && model.lora.settings.dropout > 0 ? T * maxIn : 1, 'lora-dropout'),
    dPostNorm: alloc(model.cfg.postNorms ? T * d.H : 1, 'd-post-norm'),
  };
}
