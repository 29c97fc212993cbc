import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expectInputError } from './expect-input-error.ts';
import {
  parseConfig,
  ropeAttentionScaling,
  ropeInvFreq,
  ropeParameters,
  SUPPORTED_ARCHITECTURES,
  type ModelConfig,
} from '../../src/core/model/config.ts';

const load = async (p: string) => JSON.parse(await readFile(fileURLToPath(new URL(p, import.meta.url)), 'utf8')) as Record<string, unknown>;
const tinyGpt2 = () => load('../fixtures/hf/models/tiny-gpt2/config.json');
const tinyLlama = () => load('../fixtures/hf/models/tiny-llama/config.json');
const demoBase = () => load('../../public/models/demo-base/config.json');

/** Qwen/Qwen2.5-0.5B config.json as published. */
const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151643,
  hidden_act: 'silu',
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 24,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.40.1',
  use_cache: true,
  use_mrope: false,
  use_sliding_window: false,
  vocab_size: 151936,
};

/** meta-llama/Llama-3.2-1B config.json as published. */
const LLAMA32_1B = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: 128001,
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.45.0.dev0',
  use_cache: true,
  vocab_size: 128256,
};

const expectError = (fn: () => unknown, where: string | undefined, reason: RegExp, file = 'config.json') => expectInputError(fn, file, where, reason);

/** The published Llama 3.1 scaling, written out here independently of the implementation. */
function llama3Reference(theta: number, dim: number, factor: number, low: number, high: number, oldContext: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < dim; k += 2) {
    const freq = 1 / Math.pow(theta, k / dim);
    const wavelen = (2 * Math.PI) / freq;
    const highFreqWavelen = oldContext / high;
    const lowFreqWavelen = oldContext / low;
    if (wavelen < highFreqWavelen) out.push(freq);
    else if (wavelen > lowFreqWavelen) out.push(freq / factor);
    else {
      const smooth = (oldContext / wavelen - low) / (high - low);
      out.push((1 - smooth) * (freq / factor) + smooth * freq);
    }
  }
  return out;
}

function closeTo(actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!), `index ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(rel * Math.abs(expected[i]!));
  }
}

describe('fixture configs', () => {
  it('tiny-gpt2: GPT-2 names, n_inner null → 4·n_embd, out-of-vocabulary bos/eos tolerated', async () => {
    const c = parseConfig(await tinyGpt2());
    expect(c).toMatchObject({
      arch: 'gpt2',
      modelType: 'gpt2',
      vocabSize: 512,
      hidden: 64,
      layers: 2,
      heads: 4,
      kvHeads: 4,
      headDim: 16,
      intermediate: 256,
      maxPositions: 64,
      normEps: 1e-5,
      norm: 'layernorm',
      act: 'gelu_new',
      tiedEmbeddings: true,
      attentionBias: true,
      oBias: true,
      mlpBias: true,
      dtype: 'float32',
      eosTokenIds: [],
    });
    expect(c.rope).toBeUndefined();
    expect(c.bosTokenId).toBeUndefined();
    expect(c.padTokenId).toBeUndefined();
    expect(c.warnings.join('\n')).toMatch(/bos_token_id 50256 is outside the vocabulary \(512 tokens\)/);
    expect(c.warnings.join('\n')).toMatch(/eos_token_id 50256/);
    expect(c.raw['bos_token_id']).toBe(50256);
    expect(() => ropeInvFreq(c)).toThrow(/no rotary/);
  });

  it('tiny-llama: transformers-5 rope_parameters, GQA, head_dim', async () => {
    const c = parseConfig(await tinyLlama());
    expect(c).toMatchObject({
      arch: 'llama',
      vocabSize: 512,
      hidden: 64,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      headDim: 16,
      intermediate: 176,
      maxPositions: 128,
      normEps: 1e-5,
      norm: 'rmsnorm',
      act: 'silu',
      tiedEmbeddings: true,
      attentionBias: false,
      oBias: false,
      mlpBias: false,
      rope: { theta: 10000, type: 'default' },
      bosTokenId: 1,
      eosTokenIds: [2],
      padTokenId: 0,
      warnings: [],
    });
    const inv = ropeInvFreq(c);
    closeTo(inv, Array.from({ length: 8 }, (_, i) => 10000 ** (-(2 * i) / 16)));
    expect(inv[0]).toBe(1);
    expect(ropeAttentionScaling(c)).toBe(1);
  });

  it('demo-base: bf16 Llama', async () => {
    const c = parseConfig(await demoBase());
    expect(c).toMatchObject({ arch: 'llama', dtype: 'bfloat16', hidden: 256, layers: 6, heads: 8, kvHeads: 4, headDim: 32, intermediate: 704, vocabSize: 4096, maxPositions: 512, tiedEmbeddings: true, bosTokenId: 0, eosTokenIds: [0] });
  });
});

describe('Qwen2 and Llama 3.2', () => {
  it('Qwen2.5-0.5B: q/k/v biases, no o_proj bias, head_dim from hidden/heads', () => {
    const c = parseConfig(QWEN25_05B);
    expect(c).toMatchObject({
      arch: 'qwen2',
      vocabSize: 151936,
      hidden: 896,
      layers: 24,
      heads: 14,
      kvHeads: 2,
      headDim: 64,
      intermediate: 4864,
      maxPositions: 32768,
      normEps: 1e-6,
      tiedEmbeddings: true,
      attentionBias: true,
      oBias: false,
      mlpBias: false,
      rope: { theta: 1e6, type: 'default' },
      dtype: 'bfloat16',
      bosTokenId: 151643,
      eosTokenIds: [151643],
    });
    expect(c.slidingWindow).toBeUndefined();
    closeTo(ropeInvFreq(c), Array.from({ length: 32 }, (_, i) => 1 / 1e6 ** ((2 * i) / 64)));
  });

  it('Qwen2 defaults: untied embeddings, and sliding windows are reported', () => {
    const { tie_word_embeddings: _t, ...untied } = QWEN25_05B;
    expect(parseConfig(untied).tiedEmbeddings).toBe(false);
    const c = parseConfig({ ...QWEN25_05B, use_sliding_window: true, sliding_window: 4096 });
    expect(c.slidingWindow).toBe(4096);
    expect(c.warnings.join()).toMatch(/sliding/);
  });

  it('Llama 3.2 with llama3 rope scaling matches the published formula', () => {
    const c = parseConfig(LLAMA32_1B);
    expect(c.rope).toEqual({ theta: 500000, type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
    expect(c).toMatchObject({ heads: 32, kvHeads: 8, headDim: 64, tiedEmbeddings: true, maxPositions: 131072, dtype: 'bfloat16' });
    const inv = ropeInvFreq(c);
    const want = llama3Reference(500000, 64, 32, 1, 4, 8192);
    closeTo(inv, want);
    // The three regimes are all present: unchanged, interpolated, divided by the factor.
    const plain = Array.from({ length: 32 }, (_, i) => 500000 ** (-(2 * i) / 64));
    const unchanged = plain.filter((f, i) => inv[i] === f).length;
    const divided = plain.filter((f, i) => Math.abs(inv[i]! - f / 32) <= 1e-15 * f).length;
    expect(unchanged).toBeGreaterThan(0);
    expect(divided).toBeGreaterThan(0);
    expect(unchanged + divided).toBeLessThan(32);
    expect(inv[0]).toBe(1);
    for (let i = 1; i < 32; i++) expect(inv[i]!).toBeLessThan(inv[i - 1]!);
    expect(ropeParameters(c).attentionScaling).toBe(1);
  });

  it('transformers-5 rope_parameters and top-level rope_theta/rope_scaling give the same result', () => {
    const { rope_theta, rope_scaling, ...rest } = LLAMA32_1B;
    const v5 = parseConfig({ ...rest, rope_parameters: { ...rope_scaling, rope_theta } });
    const v4 = parseConfig(LLAMA32_1B);
    expect(v5.rope).toEqual(v4.rope);
    expect(Array.from(ropeInvFreq(v5))).toEqual(Array.from(ropeInvFreq(v4)));

    const top = parseConfig({ ...rest, rope_theta: 12345 });
    const params = parseConfig({ ...rest, rope_parameters: { rope_theta: 12345, rope_type: 'default' } });
    expect(top.rope).toEqual({ theta: 12345, type: 'default' });
    expect(params.rope).toEqual(top.rope);
    // No RoPE fields at all: LlamaConfig's default theta.
    expect(parseConfig(rest).rope).toEqual({ theta: 10000, type: 'default' });
  });

  it('linear scaling divides every frequency; the legacy "type" key is read', () => {
    const { rope_scaling: _s, ...rest } = LLAMA32_1B;
    const base = parseConfig(rest);
    const lin = parseConfig({ ...rest, rope_scaling: { type: 'linear', factor: 4.0 } });
    expect(lin.rope).toEqual({ theta: 500000, type: 'linear', factor: 4 });
    closeTo(ropeInvFreq(lin), Array.from(ropeInvFreq(base), (f) => f / 4));
  });

  it('unsupported RoPE types are refused clearly', () => {
    const { rope_scaling: _s, ...rest } = LLAMA32_1B;
    expectError(() => parseConfig({ ...rest, rope_scaling: { rope_type: 'yarn', factor: 4.0 } }), 'rope_scaling', /RoPE type "yarn" is not supported \(supported: default, linear, llama3\)/);
    expectError(() => parseConfig({ ...rest, rope_scaling: { type: 'dynamic', factor: 2.0 } }), 'rope_scaling', /"dynamic" is not supported/);
    expectError(() => parseConfig({ ...rest, rope_parameters: { rope_type: 'longrope', rope_theta: 1e4 } }), 'rope_parameters', /"longrope" is not supported/);
    expectError(() => parseConfig({ ...rest, rope_scaling: { rope_type: 'llama3', factor: 8.0 } }), 'rope_scaling', /needs a numeric low_freq_factor/);
  });
});

describe('Qwen3', () => {
  const QWEN3_06B = {
    architectures: ['Qwen3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645,
    head_dim: 128, hidden_act: 'silu', hidden_size: 1024, initializer_range: 0.02, intermediate_size: 3072, max_position_embeddings: 40960,
    max_window_layers: 28, model_type: 'qwen3', num_attention_heads: 16, num_hidden_layers: 28, num_key_value_heads: 8, rms_norm_eps: 1e-6,
    rope_scaling: null, rope_theta: 1000000, sliding_window: null, tie_word_embeddings: true, torch_dtype: 'bfloat16', use_cache: true,
    use_sliding_window: false, vocab_size: 151936,
  };

  it('Qwen3-0.6B: q/k norms, head_dim 128 with hidden 1024 and 16 heads, no biases', () => {
    expect(parseConfig(QWEN3_06B)).toMatchObject({
      arch: 'qwen3', hidden: 1024, heads: 16, kvHeads: 8, headDim: 128, intermediate: 3072, layers: 28, maxPositions: 40960,
      qkNorm: true, attentionBias: false, oBias: false, mlpBias: false, tiedEmbeddings: true, learnedPositions: false,
      rope: { theta: 1e6, type: 'default' }, bosTokenId: 151643, eosTokenIds: [151645], dtype: 'bfloat16',
    });
  });

  it('Qwen3Config defaults: head_dim 128, untied head; attention_bias covers q/k/v and o_proj, never the MLP', () => {
    const { head_dim: _h, tie_word_embeddings: _t, max_position_embeddings: _m, ...bare } = QWEN3_06B;
    expect(parseConfig(bare)).toMatchObject({ headDim: 128, tiedEmbeddings: false, maxPositions: 32768 });
    expect(parseConfig({ ...QWEN3_06B, attention_bias: true, mlp_bias: true })).toMatchObject({ attentionBias: true, oBias: true, mlpBias: false });
    expect(parseConfig({ ...QWEN3_06B, model_type: undefined }).arch).toBe('qwen3');
  });
});

describe('errors and variants', () => {
  it('a missing required field names config.json and the field', async () => {
    const { hidden_size: _h, ...noHidden } = await tinyLlama();
    expectError(() => parseConfig(noHidden), 'hidden_size', /missing/);
    const { n_embd: _e, ...noEmbd } = await tinyGpt2();
    expectError(() => parseConfig(noEmbd), 'n_embd', /missing/);
    const { vocab_size: _v, ...noVocab } = QWEN25_05B;
    expectError(() => parseConfig(noVocab, 'models/q/config.json'), 'vocab_size', /missing/, 'models/q/config.json');
    expectError(() => parseConfig({ ...QWEN25_05B, num_hidden_layers: '24' }), 'num_hidden_layers', /positive integer/);
  });

  it('an unsupported architecture lists the supported ones', () => {
    const e = expectError(
      () => parseConfig({ ...QWEN25_05B, model_type: 'mistral', architectures: ['MistralForCausalLM'] }),
      'model_type',
      /unsupported architecture .*"mistral".*MistralForCausalLM/,
    );
    for (const a of SUPPORTED_ARCHITECTURES) expect(e.message).toContain(a);
    expect(e.message).toContain('LlamaForCausalLM');
    expect(SUPPORTED_ARCHITECTURES).toEqual(['gpt2', 'llama', 'qwen2', 'qwen3', 'gemma3_text', 'mixtral', 'qwen2_moe', 'olmoe']);
    expectError(() => parseConfig([1]), undefined, /not a JSON object/);
  });

  it('falls back to `architectures` when model_type is absent or unknown', () => {
    const { model_type: _m, ...rest } = LLAMA32_1B;
    expect(parseConfig(rest).arch).toBe('llama');
    expect(parseConfig({ ...QWEN25_05B, model_type: 'qwen2_custom' }).arch).toBe('qwen2');
  });

  it('GPT-2 activation and n_inner', async () => {
    const g = await tinyGpt2();
    expect(parseConfig({ ...g, n_inner: 100 }).intermediate).toBe(100);
    expect(parseConfig({ ...g, activation_function: 'gelu_pytorch_tanh' }).act).toBe('gelu_new');
    expectError(() => parseConfig({ ...g, activation_function: 'relu' }), 'activation_function', /"relu" is not supported/);
    expectError(() => parseConfig({ ...g, scale_attn_by_inverse_layer_idx: true }), 'scale_attn_by_inverse_layer_idx', /not supported/);
    const { tie_word_embeddings: _t, ...noTie } = g;
    expect(parseConfig(noTie).tiedEmbeddings).toBe(true);
  });

  it('Llama biases, untied default, eos lists, head counts', async () => {
    const l = await tinyLlama();
    const biased = parseConfig({ ...l, attention_bias: true, mlp_bias: true });
    expect([biased.attentionBias, biased.oBias, biased.mlpBias]).toEqual([true, true, true]);
    const { tie_word_embeddings: _t, ...noTie } = l;
    expect(parseConfig(noTie).tiedEmbeddings).toBe(false);
    const multi: ModelConfig = parseConfig({ ...l, eos_token_id: [2, 3, 9999] });
    expect(multi.eosTokenIds).toEqual([2, 3]);
    expect(multi.warnings).toHaveLength(1);
    const { num_key_value_heads: _k, head_dim: _d, ...mha } = l;
    expect(parseConfig(mha)).toMatchObject({ kvHeads: 4, headDim: 16 });
    expectError(() => parseConfig({ ...l, num_key_value_heads: 3 }), 'num_key_value_heads', /multiple/);
    expectError(() => parseConfig({ ...l, hidden_act: 'gelu' }), 'hidden_act', /"gelu" is not supported/);
    expect(parseConfig({ ...l, dtype: undefined, torch_dtype: 'float16' }).dtype).toBe('float16');
  });
});
