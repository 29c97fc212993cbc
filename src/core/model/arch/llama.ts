/**
 * Llama (LlamaForCausalLM) and the families built like it: RMSNorm, RoPE, SwiGLU MLP, separate
 * q/k/v and gate/up projections (fused on load), optional biases. Defaults follow LlamaConfig.
 */
import { layerParam } from './param-names.ts';
import { placeMoe } from '../moe-layout.ts';
import { qkNormWidths } from '../qk-norm.ts';
import type { ConfigReader } from './config-reader.ts';
import { parseRope } from './rope-config.ts';
import type { ArchShape, ArchSpec, Dims, ModelConfig, PlacementBuilder } from './types.ts';

/** What a Llama-like family sets differently from Llama. */
export interface LlamaLike {
  /** max_position_embeddings when config.json has none. */
  readonly maxPositions: number;
  /** head_dim when config.json has none (undefined: hidden / heads). */
  readonly headDim?: number;
  /** q/k/v bias fixed by the family (Qwen2: always), else `attention_bias`. */
  readonly qkvBias?: boolean;
  /** o_proj / MLP biases fixed by the family (Qwen2, Qwen3: none), else from config.json. */
  readonly oBias?: boolean;
  readonly mlpBias?: boolean;
  readonly qkNorm?: boolean;
}

/** The config.json fields every Llama-like family reads the same way. */
export function llamaShape(r: ConfigReader, like: LlamaLike): ArchShape {
  const act = r.str('hidden_act', 'silu');
  if (act !== 'silu') r.fail('hidden_act', `activation "${act}" is not supported (supported: silu)`);
  const hidden = r.int('hidden_size');
  const heads = r.int('num_attention_heads');
  const kvHeads = r.int('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) r.fail('num_key_value_heads', `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  let headDim: number;
  if (r.has('head_dim')) headDim = r.int('head_dim');
  else if (like.headDim !== undefined) headDim = like.headDim;
  else if (hidden % heads === 0) headDim = hidden / heads;
  else r.fail('head_dim', `hidden_size ${hidden} is not a multiple of num_attention_heads ${heads}, and there is no head_dim`);
  if (headDim % 2 !== 0) r.fail('head_dim', `RoPE needs an even head dimension, got ${headDim}`);
  const attnBias = like.qkvBias ?? r.bool('attention_bias', false);
  return {
    vocabSize: r.int('vocab_size'),
    hidden,
    layers: r.int('num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    intermediate: r.int('intermediate_size'),
    maxPositions: r.int('max_position_embeddings', like.maxPositions),
    normEps: r.num('rms_norm_eps', 1e-6),
    norm: 'rmsnorm',
    act: 'silu',
    // LlamaConfig, Qwen2Config and Qwen3Config all default to untied embeddings.
    tiedEmbeddings: r.bool('tie_word_embeddings', false),
    learnedPositions: false,
    qkNorm: like.qkNorm ?? false,
    attentionBias: attnBias,
    oBias: like.oBias ?? attnBias,
    mlpBias: like.mlpBias ?? r.bool('mlp_bias', false),
    rope: parseRope(r),
  };
}

/** HF tensors of a Llama-like model: q|k|v and gate|up stack into the fused `qkv` and `up`. */
export function llamaPlace(cfg: ModelConfig, d: Dims, { whole, table, stacked }: PlacementBuilder): void {
  table('embed_tokens.weight', 'embed', true);
  for (let i = 0; i < cfg.layers; i++) {
    const l = `layers.${i}`;
    const p = (n: string) => layerParam(i, n);
    whole(`${l}.input_layernorm.weight`, [d.H], p('ln1.weight'));
    const qkv = [{ hf: 'q_proj', rows: d.qDim }, { hf: 'k_proj', rows: d.kvDim }, { hf: 'v_proj', rows: d.kvDim }];
    stacked(p('qkv.weight'), qkv.map((b) => ({ ...b, hf: `${l}.self_attn.${b.hf}.weight` })), d.H);
    if (cfg.attentionBias) stacked(p('qkv.bias'), qkv.map((b) => ({ ...b, hf: `${l}.self_attn.${b.hf}.bias` })), 1);
    if (cfg.qkNorm) {
      const [qw, kw] = qkNormWidths(cfg, d);
      whole(`${l}.self_attn.q_norm.weight`, [qw], p('q_norm.weight'));
      whole(`${l}.self_attn.k_norm.weight`, [kw], p('k_norm.weight'));
    }
    whole(`${l}.self_attn.o_proj.weight`, [d.H, d.qDim], p('o.weight'));
    if (cfg.oBias) whole(`${l}.self_attn.o_proj.bias`, [d.H], p('o.bias'));
    whole(`${l}.post_attention_layernorm.weight`, [d.H], p('ln2.weight'));
    if (cfg.moe) {
      placeMoe(cfg, d, i, { whole, table, stacked });
      continue;
    }
    const gu = [{ hf: 'gate_proj', rows: d.inner }, { hf: 'up_proj', rows: d.inner }];
    stacked(p('up.weight'), gu.map((b) => ({ ...b, hf: `${l}.mlp.${b.hf}.weight` })), d.H);
    if (cfg.mlpBias) stacked(p('up.bias'), gu.map((b) => ({ ...b, hf: `${l}.mlp.${b.hf}.bias` })), 1);
    whole(`${l}.mlp.down_proj.weight`, [d.H, d.inner], p('down.weight'));
    if (cfg.mlpBias) whole(`${l}.mlp.down_proj.bias`, [d.H], p('down.bias'));
  }
  whole('norm.weight', [d.H], 'norm.weight');
  if (!cfg.tiedEmbeddings) table('lm_head.weight', 'head', false);
}

export const LLAMA: ArchSpec = {
  modelType: 'llama',
  classes: ['LlamaForCausalLM', 'LlamaModel'],
  bodyPrefix: 'model.',
  shape: (r) => llamaShape(r, { maxPositions: 2048 }),
  place: llamaPlace,
  gguf: {
    blocks: 'llama',
    permuteQK: true,
    unsupported: (cfg) => (cfg.mlpBias ? ['mlp_bias', 'llama.cpp has no MLP biases for Llama (mlp_bias is true)'] : null),
  },
};
