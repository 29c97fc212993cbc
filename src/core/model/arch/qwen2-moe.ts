/**
 * Qwen2-MoE (Qwen2MoeForCausalLM): Qwen2's attention (q/k/v biases) with a sparse
 * mixture-of-experts MLP: router `mlp.gate`, experts gate/up/down_proj, norm_topk_prob, and a shared
 * expert scaled by sigmoid(`mlp.shared_expert_gate`). Defaults follow Qwen2MoeConfig.
 */
import { qwen2MoeMoe } from '../moe-config.ts';
import { llamaPlace, llamaShape } from './llama.ts';
import type { ArchSpec } from './types.ts';

export const QWEN2_MOE: ArchSpec = {
  modelType: 'qwen2_moe',
  classes: ['Qwen2MoeForCausalLM', 'Qwen2MoeModel'],
  bodyPrefix: 'model.',
  shape(r, warnings) {
    const cfg = llamaShape(r, { maxPositions: 32768, qkvBias: true, oBias: false, mlpBias: false });
    const moe = qwen2MoeMoe(r);
    // Scratch sized by `intermediate` must hold the widest expert.
    cfg.moe = moe;
    cfg.intermediate = Math.max(moe.expertInner, moe.sharedInner);
    if (r.bool('use_sliding_window', false)) {
      cfg.slidingWindow = r.int('sliding_window', 4096);
      warnings.push(`use_sliding_window is true: layers from max_window_layers on attend within ${cfg.slidingWindow} tokens`);
    }
    return cfg;
  },
  place: llamaPlace,
  gguf: { blocks: 'llama', permuteQK: false, unsupported: () => ['num_experts', 'GGUF export of mixture-of-experts models is not supported'] },
};
