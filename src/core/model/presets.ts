import { dtypeSize, encodeSafetensorsHeader, f32ToBf16, f32ToF16, type Dtype } from '../formats/safetensors.ts';
import { parseConfig } from './config.ts';
import { bodyPrefix, placements } from './layout.ts';
import { Rng } from '../rng.ts';

/** google/gemma-3-270m and gemma-3-1b share everything but these sizes (their config.json files on the Hub). */
function gemma3Preset(sizes: { hidden_size: number; intermediate_size: number; num_hidden_layers: number }): Record<string, unknown> {
  return {
    architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', ...sizes, num_attention_heads: 4, num_key_value_heads: 1,
    head_dim: 256, vocab_size: 262144, max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1000000,
    rope_local_base_freq: 10000, rope_scaling: null, sliding_window: 512, sliding_window_pattern: 6, query_pre_attn_scalar: 256,
    hidden_activation: 'gelu_pytorch_tanh', attention_bias: false, attn_logit_softcapping: null, final_logit_softcapping: null,
    tie_word_embeddings: true, bos_token_id: 2, eos_token_id: [1, 106], pad_token_id: 0, torch_dtype: 'bfloat16',
  };
}

/**
 * config.json of the model shapes the benchmarks use (the real architectures, without their
 * weights), so random checkpoints of those shapes can be made offline.
 */
export const PRESETS: Readonly<Record<string, Record<string, unknown>>> = {
  'smollm2-135m': {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 576, intermediate_size: 1536,
    num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, head_dim: 64, vocab_size: 49152,
    max_position_embeddings: 8192, rms_norm_eps: 1e-5, rope_theta: 100000, tie_word_embeddings: true, hidden_act: 'silu',
    attention_bias: false, mlp_bias: false, bos_token_id: 0, eos_token_id: 0, torch_dtype: 'bfloat16',
  },
  gpt2: {
    architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024,
    n_inner: null, vocab_size: 50257, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, bos_token_id: 50256, eos_token_id: 50256,
    torch_dtype: 'float32',
  },
  'qwen2.5-0.5b': {
    architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24,
    num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 32768, rms_norm_eps: 1e-6,
    rope_theta: 1000000, tie_word_embeddings: true, hidden_act: 'silu', bos_token_id: 151643, eos_token_id: 151643, torch_dtype: 'bfloat16',
  },
  'smollm2-360m': {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 960, intermediate_size: 2560,
    num_hidden_layers: 32, num_attention_heads: 15, num_key_value_heads: 5, head_dim: 64, vocab_size: 49152,
    max_position_embeddings: 8192, rms_norm_eps: 1e-5, rope_theta: 100000, tie_word_embeddings: true, hidden_act: 'silu',
    attention_bias: false, mlp_bias: false, bos_token_id: 0, eos_token_id: 0, torch_dtype: 'bfloat16',
  },
  'llama-3.2-1b': {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16,
    num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, vocab_size: 128256, max_position_embeddings: 131072,
    rms_norm_eps: 1e-5, rope_theta: 500000, tie_word_embeddings: true, hidden_act: 'silu', attention_bias: false, mlp_bias: false,
    rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
    bos_token_id: 128000, eos_token_id: 128001, torch_dtype: 'bfloat16',
  },
  'qwen3-0.6b': {
    architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 28,
    num_attention_heads: 16, num_key_value_heads: 8, head_dim: 128, vocab_size: 151936, max_position_embeddings: 40960,
    rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true, hidden_act: 'silu', attention_bias: false,
    bos_token_id: 151643, eos_token_id: 151645, torch_dtype: 'bfloat16',
  },
  'gemma-3-270m': gemma3Preset({ hidden_size: 640, intermediate_size: 2048, num_hidden_layers: 18 }),
  'gemma-3-1b': gemma3Preset({ hidden_size: 1152, intermediate_size: 6912, num_hidden_layers: 26 }),
  // Isotonic/TinyMixtral-4x248M-MoE: four TinyMistral-248M MLPs as experts, top-2; 701M parameters,
  // about 400M active per token. The small real MoE that fits this engine's memory planner.
  'tinymixtral-4x248m': {
    architectures: ['MixtralForCausalLM'], model_type: 'mixtral', hidden_size: 1024, intermediate_size: 4096, num_hidden_layers: 12,
    num_attention_heads: 32, num_key_value_heads: 8, vocab_size: 32005, max_position_embeddings: 32768, rms_norm_eps: 1e-6,
    rope_theta: 10000, tie_word_embeddings: false, hidden_act: 'silu', num_local_experts: 4, num_experts_per_tok: 2,
    router_aux_loss_coef: 0.001, bos_token_id: 1, eos_token_id: 2, torch_dtype: 'float32',
  },
  // allenai/OLMoE-1B-7B-0924's config.json: 64 experts top-8 in all 16 layers; 6.92B parameters,
  // about 1.3B active per token.
  'olmoe-1b-7b': {
    architectures: ['OlmoeForCausalLM'], model_type: 'olmoe', hidden_size: 2048, intermediate_size: 1024, num_hidden_layers: 16,
    num_attention_heads: 16, num_key_value_heads: 16, vocab_size: 50304, max_position_embeddings: 4096, rms_norm_eps: 1e-5,
    rope_theta: 10000, rope_scaling: null, attention_bias: false, attention_dropout: 0, clip_qkv: null, hidden_act: 'silu',
    num_experts: 64, num_experts_per_tok: 8, norm_topk_prob: false, router_aux_loss_coef: 0.01, output_router_logits: false,
    tie_word_embeddings: false, pad_token_id: 1, eos_token_id: 50279, torch_dtype: 'bfloat16',
  },
};

/**
 * Presets `tabtune bench` runs only when named in --models: OLMoE-1B-7B's 6.9B parameters are a
 * 14 GB random checkpoint to write and 28 GB of f32 expert weights to load.
 */
export const BENCH_OPT_IN: ReadonlySet<string> = new Set(['olmoe-1b-7b']);

export interface RandomTensor {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** Produced on demand, so a 2 GB checkpoint is written one tensor at a time. */
  data(): Uint8Array;
}

/**
 * Random weights for a config, in the Hugging Face layout: N(0, initializer_range) matrices; norms
 * near 1 and biases near 0, or random when `randomNorms` (so a wrong norm or bias shows in tests).
 */
export function randomCheckpoint(
  config: Record<string, unknown>,
  o: { seed?: number; dtype?: Dtype; randomNorms?: boolean } = {},
): { header: Uint8Array; tensors: RandomTensor[] } {
  const cfg = parseConfig(config);
  const dtype = o.dtype ?? 'F32';
  const std = typeof config['initializer_range'] === 'number' ? (config['initializer_range'] as number) : 0.02;
  const prefix = bodyPrefix(cfg);
  // Gemma's norms multiply by (1 + weight): its weights start at 0.
  const normBase = cfg.normWeightOffset ? 0 : 1;
  const tensors: RandomTensor[] = placements(cfg, [{ start: 0, rows: cfg.vocabSize }]).map((p, i) => {
    const name = (p.inBody ? prefix : '') + p.hf;
    const isNorm = /(norm|ln_\w+|ln_f)\.weight$/.test(p.hf);
    const isBias = p.hf.endsWith('.bias');
    return {
      name, dtype, shape: p.shape,
      data: () => {
        const rng = new Rng((o.seed ?? 0) * 7919 + i + 1);
        const n = p.shape.reduce((a, b) => a * b, 1);
        const f = new Float32Array(n);
        for (let k = 0; k < n; k++) {
          const g = gaussian(rng);
          f[k] = isNorm ? normBase + (o.randomNorms ? 0.3 * g : 0) : isBias ? (o.randomNorms ? 0.1 * g : 0) : std * g;
        }
        const out = dtype === 'BF16' ? f32ToBf16(f) : dtype === 'F16' ? f32ToF16(f) : f;
        return new Uint8Array(out.buffer, out.byteOffset, n * dtypeSize(dtype));
      },
    };
  });
  const { header } = encodeSafetensorsHeader(tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] })), { format: 'pt' });
  return { header, tensors };
}

function gaussian(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}
