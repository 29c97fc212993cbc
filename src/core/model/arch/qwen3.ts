/**
 * Qwen3 (Qwen3ForCausalLM): Llama's blocks with an RMSNorm over each head of q and k before RoPE
 * (`self_attn.q_norm` / `k_norm`, weight [head_dim], eps rms_norm_eps), no MLP biases, and
 * `attention_bias` on q/k/v/o. head_dim is its own setting (Qwen3Config default 128), so
 * heads·head_dim may differ from hidden_size. Defaults follow Qwen3Config.
 */
import { llamaPlace, llamaShape } from './llama.ts';
import type { ArchSpec } from './types.ts';

export const QWEN3: ArchSpec = {
  modelType: 'qwen3',
  classes: ['Qwen3ForCausalLM', 'Qwen3Model'],
  bodyPrefix: 'model.',
  shape(r, warnings) {
    const cfg = llamaShape(r, { maxPositions: 32768, headDim: 128, mlpBias: false, qkNorm: true });
    if (r.bool('use_sliding_window', false)) {
      cfg.slidingWindow = r.int('sliding_window', 4096);
      warnings.push(`use_sliding_window is true: layers from max_window_layers on attend within ${cfg.slidingWindow} tokens`);
    }
    return cfg;
  },
  place: llamaPlace,
  gguf: {
    blocks: 'llama',
    permuteQK: false,
    unsupported: (cfg) => (cfg.attentionBias ? ['attention_bias', 'llama.cpp has no attention biases for Qwen3 (attention_bias is true)'] : null),
  },
};
