/**
 * The types an architecture declaration works with: the normalized model config, tabtune's
 * dimensions, the map from Hugging Face tensors to tabtune's parameters, and the declaration itself.
 */
import type { ConfigReader } from './config-reader.ts';
import type { MoeConfig } from '../moe-config.ts';

/** A registered `model_type` (see arch/index.ts). */
export type Architecture = string;

export type RopeType = 'default' | 'linear' | 'llama3';

export interface RopeConfig {
  theta: number;
  type: RopeType;
  /** linear, llama3 */
  factor?: number;
  /** llama3 */
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositions?: number;
}

/** Layers that attend within a window of the last `window` tokens (the query included). */
export interface LocalAttention {
  readonly window: number;
  /** One flag per layer: true where the layer is a sliding-window layer. */
  readonly layers: readonly boolean[];
  readonly rope: RopeConfig;
}

export interface ModelConfig {
  arch: Architecture;
  /** `model_type` as written (or the arch when absent). */
  modelType: string;
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  maxPositions: number;
  normEps: number;
  norm: 'layernorm' | 'rmsnorm';
  /** gelu_new = tanh-approximated GELU (GPT-2's gelu_new and gelu_pytorch_tanh). */
  act: 'gelu_new' | 'silu';
  tiedEmbeddings: boolean;
  /** Learned absolute position embeddings (GPT-2's wpe) added to the token embeddings. */
  learnedPositions: boolean;
  /** RMSNorm over each head of q and k before RoPE (Qwen3's q_norm / k_norm). */
  qkNorm: boolean;
  /** The q/k norms span the whole q and k projections (OLMoE: weights [qDim] and [kvDim]), not each head. */
  qkNormWhole?: boolean;
  /** Bias on q, k, v (GPT-2's c_attn has one; Qwen2: always; Llama: `attention_bias`). */
  attentionBias: boolean;
  /** Bias on the attention output projection (GPT-2: yes; Llama: `attention_bias`; Qwen2: no). */
  oBias: boolean;
  /** Bias on the MLP projections (GPT-2: yes; Llama: `mlp_bias`; Qwen2: no). */
  mlpBias: boolean;
  /** Absent for GPT-2 (learned positions). */
  rope?: RopeConfig;
  /** Qwen2/Qwen3 only, when `use_sliding_window` is true: the window of the layers that use it. */
  slidingWindow?: number;
  /** RMSNorm weights are stored as w and applied as (offset + w) (Gemma: 1). Absent: 0. */
  normWeightOffset?: number;
  /** Token embeddings multiplied by this factor (Gemma: sqrt(hidden_size)). Absent: 1. */
  embedScale?: number;
  /** An MLP gate|up pair with the `act` activation on the gate (Gemma's GeGLU); silu is always gated. */
  gatedMlp?: boolean;
  /** RMSNorms on the attention and MLP outputs before their residual adds (Gemma 2/3's sandwich norms). */
  postNorms?: boolean;
  /** Query scale (Gemma: query_pre_attn_scalar^-0.5). Absent: head_dim^-0.5. */
  attentionScale?: number;
  /** Sliding-window layers (Gemma 3's "sliding_attention"), with their own RoPE settings. */
  localAttention?: LocalAttention;
  /** Sparse mixture-of-experts MLP in every layer (Mixtral, Qwen2-MoE; moe-config.ts); absent for dense MLPs. */
  moe?: MoeConfig;
  /** Weights dtype as the config states it (`dtype`, or transformers 4's `torch_dtype`), e.g. "bfloat16". */
  dtype: string;
  /**
   * Special token ids, only when they lie inside the vocabulary. An id outside it (tiny-gpt2 says
   * bos/eos 50256 with a 512 vocabulary) is left out here, noted in `warnings`, and kept in `raw`.
   */
  bosTokenId?: number;
  eosTokenIds: number[];
  padTokenId?: number;
  /** Things that were tolerated but a user may want to know. */
  warnings: string[];
  raw: Record<string, unknown>;
}

/** What an architecture reads from config.json: the shape and the block structure. */
export type ArchShape = Omit<ModelConfig, 'bosTokenId' | 'eosTokenIds' | 'padTokenId' | 'warnings' | 'raw' | 'arch' | 'modelType' | 'dtype'>;

export interface Dims {
  readonly H: number;
  readonly V: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly qDim: number;
  readonly kvDim: number;
  /** Width of the fused q|k|v row. */
  readonly qkvDim: number;
  readonly inner: number;
  /** Width of the fused up projection: gate|up (2·inner) for SwiGLU, inner for GPT-2. */
  readonly upDim: number;
  readonly gated: boolean;
}

/** Where the elements of one Hugging Face tensor live among tabtune's parameters. */
export interface Placement {
  /** Name without the body prefix (`model.`/`transformer.`). */
  readonly hf: string;
  readonly shape: readonly number[];
  /** Conv1D: the HF tensor [a, b] is the transpose of the parameter [b, a]. */
  readonly transpose: boolean;
  readonly parts: readonly { param: string; hfOffset: number; paramOffset: number; count: number }[];
  /** True for tensors whose file prefix is the body prefix (all but lm_head). */
  readonly inBody: boolean;
}

/** The ways an architecture places HF tensors (layout.ts collects them). */
export interface PlacementBuilder {
  /** One HF tensor is one whole parameter (transposed for Conv1D). */
  whole(hf: string, shape: number[], param: string, transpose?: boolean, inBody?: boolean): void;
  /** A [V, H] table split into the vocabulary chunks `embed.i` / `head.i`. */
  table(hf: string, prefix: 'embed' | 'head', inBody: boolean): void;
  /** Consecutive row blocks of one fused parameter, each an HF tensor ([rows, cols], or [rows] when cols is 1). */
  stacked(param: string, blocks: { hf: string; rows: number }[], cols: number): void;
}

/**
 * One model family: everything tabtune needs to know about it, declared together. Adding a family
 * is one such file registered in arch/index.ts (plus kernels if its blocks need new ones).
 */
export interface ArchSpec {
  /** config.json `model_type`. */
  readonly modelType: Architecture;
  /** transformers classes that checkpoints name in `architectures`. */
  readonly classes: readonly string[];
  /** Prefix of the body tensors in checkpoints (everything but lm_head). */
  readonly bodyPrefix: string;
  /** config.json → shape and block structure, with transformers' class defaults. */
  shape(r: ConfigReader, warnings: string[]): ArchShape;
  /** The HF tensor names and how they map onto tabtune's fused parameters (layout.ts). */
  place(cfg: ModelConfig, d: Dims, put: PlacementBuilder): void;
  /** How llama.cpp stores the family (convert_hf_to_gguf.py); `general.architecture` is the model_type. */
  readonly gguf: GgufArch;
}

export interface GgufArch {
  /** Tensor naming: GPT-2's fused Conv1D blocks, or Llama's separate projections (deploy/gguf-tensors.ts). */
  readonly blocks: 'gpt2' | 'llama';
  /** q/k rows permuted from rotate-half order to interleaved pairs (llama.cpp's Llama RoPE); else as they are (NEOX RoPE). */
  readonly permuteQK: boolean;
  /** A setting llama.cpp's loader has no tensors for, as [config.json field, reason]; null when there is none. */
  unsupported(cfg: ModelConfig): [string, string] | null;
}
