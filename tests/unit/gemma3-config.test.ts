import { describe, expect, it } from 'vitest';
import { expectInputError } from './expect-input-error.ts';
import { parseConfig } from '../../src/core/model/config.ts';
import { dims, paramSpecs } from '../../src/core/model/layout.ts';
import { nameResolver, tensorPlans } from '../../src/core/deploy/gguf-tensors.ts';
import { modelParameters } from '../../src/core/train/defaults.ts';

const SLIDE = 'sliding_attention';
const FULL = 'full_attention';

/** google/gemma-3-270m config.json as published (transformers 4.55 spelling). */
const GEMMA3_270M = {
  _sliding_window_pattern: 6, architectures: ['Gemma3ForCausalLM'], attention_bias: false, attention_dropout: 0.0,
  attn_logit_softcapping: null, bos_token_id: 2, eos_token_id: 1, final_logit_softcapping: null, head_dim: 256,
  hidden_activation: 'gelu_pytorch_tanh', hidden_size: 640, initializer_range: 0.02, intermediate_size: 2048,
  layer_types: [SLIDE, SLIDE, SLIDE, SLIDE, SLIDE, FULL, SLIDE, SLIDE, SLIDE, SLIDE, SLIDE, FULL, SLIDE, SLIDE, SLIDE, SLIDE, SLIDE, FULL],
  max_position_embeddings: 32768, model_type: 'gemma3_text', num_attention_heads: 4, num_hidden_layers: 18, num_key_value_heads: 1,
  pad_token_id: 0, query_pre_attn_scalar: 256, rms_norm_eps: 1e-6, rope_local_base_freq: 10000.0, rope_scaling: null,
  rope_theta: 1000000.0, sliding_window: 512, torch_dtype: 'bfloat16', use_bidirectional_attention: false, use_cache: true,
  vocab_size: 262144,
};

describe('Gemma 3 config.json', () => {
  it('gemma-3-270m: sizes, (1 + w) norms, sqrt(H) embeddings, GeGLU, post-norms, query scale, sliding layers and both RoPEs', () => {
    const cfg = parseConfig(GEMMA3_270M);
    expect(cfg.arch).toBe('gemma3_text');
    expect([cfg.hidden, cfg.layers, cfg.heads, cfg.kvHeads, cfg.headDim, cfg.intermediate, cfg.vocabSize]).toEqual([640, 18, 4, 1, 256, 2048, 262144]);
    expect(cfg.tiedEmbeddings).toBe(true);
    expect(cfg.normWeightOffset).toBe(1);
    // sqrt(640) = 25.298… in the checkpoint's bfloat16, as transformers casts it; float32 when the config says so.
    expect(cfg.embedScale).toBe(25.25);
    expect(parseConfig({ ...GEMMA3_270M, torch_dtype: 'float32' }).embedScale).toBe(Math.fround(Math.sqrt(640)));
    expect(parseConfig({ ...GEMMA3_270M, hidden_size: 1152, torch_dtype: 'float16' }).embedScale).toBe(33.9375);
    expect([cfg.act, cfg.gatedMlp, cfg.postNorms, cfg.qkNorm]).toEqual(['gelu_new', true, true, true]);
    expect(cfg.attentionScale).toBe(1 / 16);
    expect(cfg.rope).toEqual({ theta: 1_000_000, type: 'default' });
    expect(cfg.localAttention!.window).toBe(512);
    expect(cfg.localAttention!.rope).toEqual({ theta: 10_000, type: 'default' });
    expect(cfg.localAttention!.layers).toEqual(GEMMA3_270M.layer_types.map((t) => t === SLIDE));
    expect(cfg.eosTokenIds).toEqual([1]);
    const d = dims(cfg);
    expect([d.qDim, d.kvDim, d.upDim, d.gated]).toEqual([1024, 256, 4096, true]);
    const names = paramSpecs(cfg, [{ start: 0, rows: cfg.vocabSize }]).map((s) => s.name).filter((n) => n.startsWith('layers.0.'));
    expect(names).toEqual(['ln1', 'qkv', 'q_norm', 'k_norm', 'o', 'post_attn_norm', 'ln2', 'up', 'down', 'post_mlp_norm'].map((n) => `layers.0.${n}.weight`));
  });

  it('without layer_types: every sliding_window_pattern-th layer is global; Gemma3TextConfig defaults fill the rest', () => {
    const { layer_types: _, _sliding_window_pattern: __, ...rest } = GEMMA3_270M;
    const cfg = parseConfig({ ...rest, num_hidden_layers: 7, sliding_window_pattern: 3, head_dim: undefined, query_pre_attn_scalar: undefined });
    expect(cfg.localAttention!.layers).toEqual([true, true, false, true, true, false, true]);
    expect(cfg.headDim).toBe(256);
    expect(cfg.attentionScale).toBe(256 ** -0.5);
  });

  it('linear rope_scaling applies to the global layers only; transformers 5 per-layer-type rope_parameters', () => {
    const scaled = parseConfig({ ...GEMMA3_270M, rope_scaling: { rope_type: 'linear', factor: 8 } });
    expect(scaled.rope).toEqual({ theta: 1_000_000, type: 'linear', factor: 8 });
    expect(scaled.localAttention!.rope).toEqual({ theta: 10_000, type: 'default' });
    const { rope_theta: _t, rope_local_base_freq: _l, rope_scaling: _s, ...rest } = GEMMA3_270M;
    const v5 = parseConfig({
      ...rest,
      rope_parameters: { [FULL]: { rope_theta: 1e6, rope_type: 'linear', factor: 8 }, [SLIDE]: { rope_theta: 1e4, rope_type: 'default' } },
    });
    expect(v5.rope).toEqual({ theta: 1e6, type: 'linear', factor: 8 });
    expect(v5.localAttention!.rope).toEqual({ theta: 1e4, type: 'default' });
  });

  it('refuses what it cannot run, with one line naming the field', () => {
    expectInputError(() => parseConfig({ ...GEMMA3_270M, final_logit_softcapping: 30 }), 'config.json', 'final_logit_softcapping', /softcapping/);
    expectInputError(() => parseConfig({ ...GEMMA3_270M, attn_logit_softcapping: 50 }), 'config.json', 'attn_logit_softcapping', /softcapping/);
    expectInputError(() => parseConfig({ ...GEMMA3_270M, use_bidirectional_attention: true }), 'config.json', 'use_bidirectional_attention', /bidirectional/);
    expectInputError(() => parseConfig({ ...GEMMA3_270M, hidden_activation: 'gelu' }), 'config.json', 'hidden_activation', /"gelu" is not supported/);
    expectInputError(() => parseConfig({ ...GEMMA3_270M, layer_types: [SLIDE, FULL] }), 'config.json', 'layer_types', /each of the 18 layers/);
    const multimodal = { architectures: ['Gemma3ForConditionalGeneration'], model_type: 'gemma3', text_config: GEMMA3_270M };
    expectInputError(() => parseConfig(multimodal), 'config.json', 'model_type', /Gemma3ForConditionalGeneration .* not supported/);
  });

  it('GGUF export is refused with one line (llama.cpp stores Gemma norms as 1 + w)', () => {
    const cfg = parseConfig(GEMMA3_270M);
    expectInputError(() => tensorPlans(cfg, nameResolver([]), 'model.safetensors'), 'model.safetensors', 'model_type', /GGUF export of Gemma 3 is not supported/);
  });
});

describe('Gemma 3 size for the training defaults', () => {
  it('counts the gated MLP (gate, up, down): gemma-3-270m comes to its 268M weights, norms aside', () => {
    const cfg = parseConfig(GEMMA3_270M);
    // 268,098,176 published, of which 18 · (4·640 + 2·256) + 640 are norm weights, left out of modelParameters.
    expect(modelParameters(cfg)).toBe(268_098_176 - 18 * (4 * 640 + 2 * 256) - 640);
  });
});
