/**
 * Hugging Face `config.json` → a normalized ModelConfig for the architectures tabtune runs.
 *
 * Field names and defaults follow transformers' GPT2Config, LlamaConfig and Qwen2Config: a field
 * that transformers fills from its class default is filled the same way here, while the fields that
 * define the model's shape (sizes, layer and head counts, vocabulary) are required, since a
 * checkpoint without them is not one we can check the weights against.
 *
 * RoPE: both spellings are accepted — top-level `rope_theta` + `rope_scaling` (transformers 4 and
 * most Hub checkpoints) and transformers 5's `rope_parameters: {rope_theta, rope_type, ...}`.
 */
import { InputError } from '../errors.ts';

export type Architecture = 'gpt2' | 'llama' | 'qwen2';

/** model_type values tabtune runs, each with the transformers class that checkpoints name. */
export const SUPPORTED_ARCHITECTURES: readonly Architecture[] = ['gpt2', 'llama', 'qwen2'];
const CLASS_NAMES: Record<Architecture, string[]> = {
  gpt2: ['GPT2LMHeadModel', 'GPT2Model'],
  llama: ['LlamaForCausalLM', 'LlamaModel'],
  qwen2: ['Qwen2ForCausalLM', 'Qwen2Model'],
};

export type RopeType = 'default' | 'linear' | 'llama3';
export const SUPPORTED_ROPE_TYPES: readonly RopeType[] = ['default', 'linear', 'llama3'];

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
  /** Bias on q, k, v (GPT-2's c_attn has one; Qwen2: always; Llama: `attention_bias`). */
  attentionBias: boolean;
  /** Bias on the attention output projection (GPT-2: yes; Llama: `attention_bias`; Qwen2: no). */
  oBias: boolean;
  /** Bias on the MLP projections (GPT-2: yes; Llama: `mlp_bias`; Qwen2: no). */
  mlpBias: boolean;
  /** Absent for GPT-2 (learned positions). */
  rope?: RopeConfig;
  /** Qwen2 only, when `use_sliding_window` is true: the window of the layers that use it. */
  slidingWindow?: number;
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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Reader {
  constructor(
    readonly file: string,
    readonly json: Record<string, unknown>,
  ) {}

  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }

  private fail(key: string, reason: string): never {
    throw new InputError(this.file, reason, key);
  }

  int(key: string, fallback?: number): number {
    const v = this.json[key];
    if (v === undefined || v === null) {
      if (fallback === undefined) this.fail(key, 'missing (required)');
      return fallback;
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) this.fail(key, `must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  }

  num(key: string, fallback?: number): number {
    const v = this.json[key];
    if (v === undefined || v === null) {
      if (fallback === undefined) this.fail(key, 'missing (required)');
      return fallback;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.json[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  str(key: string, fallback: string): string {
    const v = this.json[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string') this.fail(key, `must be a string, got ${JSON.stringify(v)}`);
    return v;
  }
}

function detectArch(file: string, json: Record<string, unknown>): Architecture {
  const modelType = json['model_type'];
  if (typeof modelType === 'string' && (SUPPORTED_ARCHITECTURES as readonly string[]).includes(modelType)) {
    return modelType as Architecture;
  }
  const classes = Array.isArray(json['architectures']) ? json['architectures'].filter((c): c is string => typeof c === 'string') : [];
  for (const c of classes) {
    for (const arch of SUPPORTED_ARCHITECTURES) if (CLASS_NAMES[arch].includes(c)) return arch;
  }
  const seen = [
    typeof modelType === 'string' ? `model_type ${JSON.stringify(modelType)}` : 'no model_type',
    classes.length ? `architectures ${classes.join(', ')}` : 'no architectures',
  ].join(', ');
  const supported = SUPPORTED_ARCHITECTURES.map((a) => `${a} (${CLASS_NAMES[a][0]})`).join(', ');
  throw new InputError(file, `unsupported architecture (${seen}); supported: ${supported}`, 'model_type');
}

/** Validates one special-token field against the vocabulary; returns the ids inside it. */
function tokenIds(r: Reader, key: string, vocab: number, warnings: string[]): number[] {
  const v = r.json[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  const out: number[] = [];
  for (const id of list) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw new InputError(r.file, `must be a token id or a list of them, got ${JSON.stringify(v)}`, key);
    if (id < 0 || id >= vocab) warnings.push(`${key} ${id} is outside the vocabulary (${vocab} tokens) and is ignored`);
    else out.push(id);
  }
  return out;
}

function parseRope(r: Reader): RopeConfig {
  const file = r.file;
  const params = r.json['rope_parameters'];
  let src: Record<string, unknown>;
  let key: string;
  let theta: number;
  if (params !== undefined && params !== null) {
    key = 'rope_parameters';
    if (!isObject(params)) throw new InputError(file, 'must be an object', key);
    if (params['rope_type'] === undefined && params['type'] === undefined && params['rope_theta'] === undefined) {
      throw new InputError(file, 'per-layer-type RoPE parameters are not supported (expected {rope_theta, rope_type, ...})', key);
    }
    src = params;
    const t = params['rope_theta'] ?? r.json['rope_theta'] ?? 10000;
    if (typeof t !== 'number' || !(t > 0)) throw new InputError(file, `rope_theta must be a positive number, got ${JSON.stringify(t)}`, key);
    theta = t;
  } else {
    theta = r.num('rope_theta', 10000);
    if (!(theta > 0)) throw new InputError(file, `must be positive, got ${theta}`, 'rope_theta');
    const scaling = r.json['rope_scaling'];
    key = 'rope_scaling';
    if (scaling === undefined || scaling === null) return { theta, type: 'default' };
    if (!isObject(scaling)) throw new InputError(file, 'must be an object or null', key);
    src = scaling;
  }
  const partial = r.json['partial_rotary_factor'] ?? src['partial_rotary_factor'];
  if (partial !== undefined && partial !== null && partial !== 1) {
    throw new InputError(file, `partial rotary embeddings (partial_rotary_factor ${JSON.stringify(partial)}) are not supported`, 'partial_rotary_factor');
  }
  // transformers 4 spelled rope_type as "type".
  const rawType = src['rope_type'] ?? src['type'] ?? 'default';
  if (typeof rawType !== 'string' || !(SUPPORTED_ROPE_TYPES as readonly string[]).includes(rawType)) {
    throw new InputError(file, `RoPE type ${JSON.stringify(rawType)} is not supported (supported: ${SUPPORTED_ROPE_TYPES.join(', ')})`, key);
  }
  const type = rawType as RopeType;
  const need = (name: string): number => {
    const v = src[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(file, `RoPE type "${type}" needs a numeric ${name}, got ${JSON.stringify(v)}`, key);
    return v;
  };
  if (type === 'default') return { theta, type };
  const factor = need('factor');
  if (!(factor > 0)) throw new InputError(file, `factor must be positive, got ${factor}`, key);
  if (type === 'linear') return { theta, type, factor };
  const lowFreqFactor = need('low_freq_factor');
  const highFreqFactor = need('high_freq_factor');
  const originalMaxPositions = need('original_max_position_embeddings');
  if (!(highFreqFactor > lowFreqFactor) || !(lowFreqFactor > 0)) {
    throw new InputError(file, `llama3 RoPE needs 0 < low_freq_factor < high_freq_factor, got ${lowFreqFactor} and ${highFreqFactor}`, key);
  }
  if (!(originalMaxPositions > 0)) throw new InputError(file, `original_max_position_embeddings must be positive`, key);
  return { theta, type, factor, lowFreqFactor, highFreqFactor, originalMaxPositions };
}

/** Parses a config.json object. Every error is an InputError naming `file` and the field. */
export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (!isObject(json)) throw new InputError(file, 'not a JSON object');
  const arch = detectArch(file, json);
  const r = new Reader(file, json);
  const warnings: string[] = [];
  const modelType = typeof json['model_type'] === 'string' ? json['model_type'] : arch;
  const dtype = r.str('dtype', r.str('torch_dtype', 'float32'));

  let cfg: Omit<ModelConfig, 'bosTokenId' | 'eosTokenIds' | 'padTokenId' | 'warnings' | 'raw' | 'arch' | 'modelType' | 'dtype'>;
  if (arch === 'gpt2') {
    const act = r.str('activation_function', 'gelu_new');
    if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') {
      throw new InputError(file, `activation "${act}" is not supported for GPT-2 (supported: gelu_new, gelu_pytorch_tanh)`, 'activation_function');
    }
    if (r.bool('scale_attn_by_inverse_layer_idx', false)) {
      throw new InputError(file, 'scaling attention by the inverse layer index is not supported', 'scale_attn_by_inverse_layer_idx');
    }
    if (!r.bool('scale_attn_weights', true)) {
      throw new InputError(file, 'unscaled attention (scale_attn_weights false) is not supported', 'scale_attn_weights');
    }
    const hidden = r.int('n_embd');
    const heads = r.int('n_head');
    if (hidden % heads !== 0) throw new InputError(file, `n_embd ${hidden} is not a multiple of n_head ${heads}`, 'n_head');
    cfg = {
      vocabSize: r.int('vocab_size'),
      hidden,
      layers: r.int('n_layer'),
      heads,
      kvHeads: heads,
      headDim: hidden / heads,
      intermediate: r.int('n_inner', 4 * hidden),
      maxPositions: r.int('n_positions'),
      normEps: r.num('layer_norm_epsilon', 1e-5),
      norm: 'layernorm',
      act: 'gelu_new',
      tiedEmbeddings: r.bool('tie_word_embeddings', true),
      attentionBias: true,
      oBias: true,
      mlpBias: true,
    };
  } else {
    const act = r.str('hidden_act', 'silu');
    if (act !== 'silu') throw new InputError(file, `activation "${act}" is not supported (supported: silu)`, 'hidden_act');
    const hidden = r.int('hidden_size');
    const heads = r.int('num_attention_heads');
    const kvHeads = r.int('num_key_value_heads', heads);
    if (heads % kvHeads !== 0) {
      throw new InputError(file, `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`, 'num_key_value_heads');
    }
    let headDim: number;
    if (r.has('head_dim')) headDim = r.int('head_dim');
    else if (hidden % heads === 0) headDim = hidden / heads;
    else throw new InputError(file, `hidden_size ${hidden} is not a multiple of num_attention_heads ${heads}, and there is no head_dim`, 'head_dim');
    if (headDim % 2 !== 0) throw new InputError(file, `RoPE needs an even head dimension, got ${headDim}`, 'head_dim');
    const maxPositions = r.int('max_position_embeddings', arch === 'qwen2' ? 32768 : 2048);
    const attnBias = arch === 'qwen2' ? true : r.bool('attention_bias', false);
    cfg = {
      vocabSize: r.int('vocab_size'),
      hidden,
      layers: r.int('num_hidden_layers'),
      heads,
      kvHeads,
      headDim,
      intermediate: r.int('intermediate_size'),
      maxPositions,
      normEps: r.num('rms_norm_eps', 1e-6),
      norm: 'rmsnorm',
      act: 'silu',
      // LlamaConfig and Qwen2Config both default to untied embeddings.
      tiedEmbeddings: r.bool('tie_word_embeddings', false),
      attentionBias: attnBias,
      oBias: arch === 'qwen2' ? false : attnBias,
      mlpBias: arch === 'qwen2' ? false : r.bool('mlp_bias', false),
      rope: parseRope(r),
    };
    if (arch === 'qwen2' && r.bool('use_sliding_window', false)) {
      cfg.slidingWindow = r.int('sliding_window', 4096);
      warnings.push(`use_sliding_window is true: layers from max_window_layers on attend within ${cfg.slidingWindow} tokens`);
    }
  }

  const bos = tokenIds(r, 'bos_token_id', cfg.vocabSize, warnings);
  const eos = tokenIds(r, 'eos_token_id', cfg.vocabSize, warnings);
  const pad = tokenIds(r, 'pad_token_id', cfg.vocabSize, warnings);
  const out: ModelConfig = { arch, modelType, dtype, ...cfg, eosTokenIds: eos, warnings, raw: json };
  if (bos.length) out.bosTokenId = bos[0]!;
  if (pad.length) out.padTokenId = pad[0]!;
  return out;
}

export interface RopeParameters {
  /** One inverse frequency per pair of rotated dimensions (headDim / 2 values). */
  invFreq: Float64Array;
  /** Multiplier on cos and sin ("attention_factor" in transformers); 1 for default, linear, llama3. */
  attentionScaling: number;
}

/**
 * inv_freq and attention scaling as transformers' rope init functions compute them
 * (`_compute_default_rope_parameters`, `_compute_linear_scaling_rope_parameters`,
 * `_compute_llama3_parameters`), with dim = headDim. Computed in float64; transformers computes in
 * float32, so round with `Float32Array.from(invFreq)` to match it to about one ulp.
 */
export function ropeParameters(cfg: ModelConfig): RopeParameters {
  const rope = cfg.rope;
  if (!rope) throw new Error(`${cfg.arch} has no rotary position embeddings`);
  const dim = cfg.headDim;
  const half = dim / 2;
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / rope.theta ** ((2 * i) / dim);
  if (rope.type === 'linear') {
    for (let i = 0; i < half; i++) invFreq[i]! /= rope.factor!;
  } else if (rope.type === 'llama3') {
    const factor = rope.factor!;
    const low = rope.lowFreqFactor!;
    const high = rope.highFreqFactor!;
    const oldContext = rope.originalMaxPositions!;
    const lowFreqWavelen = oldContext / low;
    const highFreqWavelen = oldContext / high;
    for (let i = 0; i < half; i++) {
      const f = invFreq[i]!;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highFreqWavelen) continue; // high frequencies: unchanged
      if (wavelen > lowFreqWavelen) {
        invFreq[i] = f / factor; // low frequencies: scaled like linear
        continue;
      }
      // In between: interpolate smoothly between the scaled and the unscaled frequency.
      const smooth = (oldContext / wavelen - low) / (high - low);
      invFreq[i] = (1 - smooth) * (f / factor) + smooth * f;
    }
  }
  return { invFreq, attentionScaling: 1 };
}

/** The RoPE inverse frequencies (see ropeParameters). */
export function ropeInvFreq(cfg: ModelConfig): Float64Array {
  return ropeParameters(cfg).invFreq;
}

/** The factor applied to cos/sin (1 for every supported RoPE type). */
export function ropeAttentionScaling(cfg: ModelConfig): number {
  return ropeParameters(cfg).attentionScaling;
}
