/**
 * Gemma 3 text models (Gemma3ForCausalLM, model_type "gemma3_text"), after transformers'
 * modeling_gemma3.py: RMSNorms that multiply by (1 + weight); token embeddings scaled by
 * sqrt(hidden_size); norms before and after both attention and MLP; per-head q/k norms; a GeGLU
 * MLP down(gelu_tanh(gate(x)) · up(x)); queries scaled by query_pre_attn_scalar^-0.5; sliding-window
 * layers with their own RoPE base (rope_local_base_freq) beside global layers (rope_theta and
 * rope_scaling). Defaults follow Gemma3TextConfig.
 */
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../formats/dtypes.ts';
import { layerParam } from './param-names.ts';
import { ConfigReader, isObject } from './config-reader.ts';
import { parseRope } from './rope-config.ts';
import type { ArchShape, ArchSpec, Dims, LocalAttention, ModelConfig, PlacementBuilder, RopeConfig } from './types.ts';

const SLIDING = 'sliding_attention';
const FULL = 'full_attention';

/** Which layers slide: `layer_types`, else every layer but each `sliding_window_pattern`-th. */
function slidingLayers(r: ConfigReader, layers: number): boolean[] {
  const types = r.json['layer_types'];
  if (types !== undefined && types !== null) {
    if (!Array.isArray(types) || types.length !== layers || types.some((t) => t !== SLIDING && t !== FULL)) {
      r.fail('layer_types', `must list "${SLIDING}" or "${FULL}" for each of the ${layers} layers`);
    }
    return types.map((t) => t === SLIDING);
  }
  const key = r.has('sliding_window_pattern') ? 'sliding_window_pattern' : '_sliding_window_pattern';
  const pattern = r.int(key, 6);
  return Array.from({ length: layers }, (_, i) => (i + 1) % pattern !== 0);
}

/** Global and local RoPE: transformers 5's per-layer-type `rope_parameters`, or rope_theta + rope_local_base_freq. */
function ropes(r: ConfigReader): { global: RopeConfig; local: RopeConfig } {
  const params = r.json['rope_parameters'];
  if (isObject(params) && (isObject(params[FULL]) || isObject(params[SLIDING]))) {
    const one = (type: string, theta: number) => {
      const sub = isObject(params[type]) ? params[type] : { rope_type: 'default', rope_theta: theta };
      return parseRope(new ConfigReader(r.file, { rope_parameters: { rope_theta: theta, ...sub } }));
    };
    return { global: one(FULL, 1_000_000), local: one(SLIDING, 10_000) };
  }
  const global = parseRope(new ConfigReader(r.file, { rope_theta: 1_000_000, ...r.json }));
  const localTheta = r.num('rope_local_base_freq', 10_000);
  if (!(localTheta > 0)) r.fail('rope_local_base_freq', `must be positive, got ${localTheta}`);
  return { global, local: { theta: localTheta, type: 'default' } };
}

/**
 * sqrt(hidden_size) as transformers applies it: a float32 scalar cast to the weights' dtype
 * (`embed_scale.to(weight.dtype)`), here the dtype config.json states (sqrt(640) is 25.25 in bfloat16).
 */
export function gemma3EmbedScale(hidden: number, dtype: string): number {
  const v = Float32Array.of(Math.sqrt(hidden));
  if (dtype === 'bfloat16') return bf16ToF32(f32ToBf16(v))[0]!;
  if (dtype === 'float16') return f16ToF32(f32ToF16(v))[0]!;
  return v[0]!;
}

function gemma3Shape(r: ConfigReader): ArchShape {
  const act = r.str('hidden_activation', r.str('hidden_act', 'gelu_pytorch_tanh'));
  if (act !== 'gelu_pytorch_tanh' && act !== 'gelu_new') {
    r.fail('hidden_activation', `activation "${act}" is not supported (supported: gelu_pytorch_tanh)`);
  }
  for (const key of ['attn_logit_softcapping', 'final_logit_softcapping']) {
    if (r.has(key)) r.fail(key, `softcapping is not supported (Gemma 3 sets it to null), got ${JSON.stringify(r.json[key])}`);
  }
  if (r.bool('use_bidirectional_attention', false)) r.fail('use_bidirectional_attention', 'bidirectional attention is not supported');
  const hidden = r.int('hidden_size');
  const layers = r.int('num_hidden_layers');
  const heads = r.int('num_attention_heads');
  const kvHeads = r.int('num_key_value_heads', 4);
  if (heads % kvHeads !== 0) r.fail('num_key_value_heads', `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  const headDim = r.int('head_dim', 256);
  if (headDim % 2 !== 0) r.fail('head_dim', `RoPE needs an even head dimension, got ${headDim}`);
  const scalar = r.num('query_pre_attn_scalar', 256);
  if (!(scalar > 0)) r.fail('query_pre_attn_scalar', `must be positive, got ${scalar}`);
  const bias = r.bool('attention_bias', false);
  const { global, local } = ropes(r);
  const sliding = slidingLayers(r, layers);
  const localAttention: LocalAttention | undefined = sliding.some(Boolean)
    ? { window: r.int('sliding_window', 4096), layers: sliding, rope: local }
    : undefined;
  return {
    vocabSize: r.int('vocab_size', 262_208),
    hidden,
    layers,
    heads,
    kvHeads,
    headDim,
    intermediate: r.int('intermediate_size'),
    maxPositions: r.int('max_position_embeddings', 131_072),
    normEps: r.num('rms_norm_eps', 1e-6),
    norm: 'rmsnorm',
    act: 'gelu_new',
    tiedEmbeddings: r.bool('tie_word_embeddings', true),
    learnedPositions: false,
    qkNorm: true,
    attentionBias: bias,
    oBias: bias,
    mlpBias: false,
    rope: global,
    normWeightOffset: 1,
    embedScale: gemma3EmbedScale(hidden, r.str('dtype', r.str('torch_dtype', 'float32'))),
    gatedMlp: true,
    postNorms: true,
    attentionScale: scalar ** -0.5,
    ...(localAttention ? { localAttention } : {}),
  };
}

function gemma3Place(cfg: ModelConfig, d: Dims, { whole, table, stacked }: PlacementBuilder): void {
  table('embed_tokens.weight', 'embed', true);
  for (let i = 0; i < cfg.layers; i++) {
    const l = `layers.${i}`;
    const p = (n: string) => layerParam(i, n);
    whole(`${l}.input_layernorm.weight`, [d.H], p('ln1.weight'));
    const qkv = [{ hf: 'q_proj', rows: d.qDim }, { hf: 'k_proj', rows: d.kvDim }, { hf: 'v_proj', rows: d.kvDim }];
    stacked(p('qkv.weight'), qkv.map((b) => ({ ...b, hf: `${l}.self_attn.${b.hf}.weight` })), d.H);
    if (cfg.attentionBias) stacked(p('qkv.bias'), qkv.map((b) => ({ ...b, hf: `${l}.self_attn.${b.hf}.bias` })), 1);
    whole(`${l}.self_attn.q_norm.weight`, [d.headDim], p('q_norm.weight'));
    whole(`${l}.self_attn.k_norm.weight`, [d.headDim], p('k_norm.weight'));
    whole(`${l}.self_attn.o_proj.weight`, [d.H, d.qDim], p('o.weight'));
    if (cfg.oBias) whole(`${l}.self_attn.o_proj.bias`, [d.H], p('o.bias'));
    whole(`${l}.post_attention_layernorm.weight`, [d.H], p('post_attn_norm.weight'));
    whole(`${l}.pre_feedforward_layernorm.weight`, [d.H], p('ln2.weight'));
    const gu = [{ hf: 'gate_proj', rows: d.inner }, { hf: 'up_proj', rows: d.inner }];
    stacked(p('up.weight'), gu.map((b) => ({ ...b, hf: `${l}.mlp.${b.hf}.weight` })), d.H);
    whole(`${l}.mlp.down_proj.weight`, [d.H, d.inner], p('down.weight'));
    whole(`${l}.post_feedforward_layernorm.weight`, [d.H], p('post_mlp_norm.weight'));
  }
  whole('norm.weight', [d.H], 'norm.weight');
  if (!cfg.tiedEmbeddings) table('lm_head.weight', 'head', false);
}

export const GEMMA3: ArchSpec = {
  modelType: 'gemma3_text',
  classes: ['Gemma3ForCausalLM', 'Gemma3TextModel'],
  bodyPrefix: 'model.',
  shape: (r) => gemma3Shape(r),
  place: gemma3Place,
  gguf: {
    blocks: 'llama',
    permuteQK: false,
    unsupported: () => [
      'model_type',
      'GGUF export of Gemma 3 is not supported (llama.cpp stores its norms as 1 + weight and needs the gemma3 tensor set); export the PEFT adapter',
    ],
  },
};
