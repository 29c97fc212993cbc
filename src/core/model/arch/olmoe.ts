/**
 * OLMoE (OlmoeForCausalLM, transformers' modeling_olmoe.py): Llama's blocks with an RMSNorm over
 * the whole q projection and the whole k projection (`self_attn.q_norm` [heads·head_dim],
 * `k_norm` [kv_heads·head_dim]) before RoPE, and a sparse mixture-of-experts MLP named as
 * Qwen2-MoE's (`mlp.gate`, `mlp.experts.E.gate_proj/up_proj/down_proj`): softmax, top-k,
 * norm_topk_prob (default false), no shared expert. Defaults follow OlmoeConfig.
 */
import { olmoeMoe } from '../moe-config.ts';
import { llamaPlace, llamaShape } from './llama.ts';
import type { ArchSpec } from './types.ts';

export const OLMOE: ArchSpec = {
  modelType: 'olmoe',
  classes: ['OlmoeForCausalLM', 'OlmoeModel'],
  bodyPrefix: 'model.',
  shape(r) {
    // clip_qkv clamps q, k and v after the norms; no released OLMoE uses it, so it is refused rather than run.
    if (r.has('clip_qkv')) r.fail('clip_qkv', `clipping q/k/v (clip_qkv ${JSON.stringify(r.json['clip_qkv'])}) is not supported (only null)`);
    const cfg = llamaShape(r, { maxPositions: 4096, qkNorm: true });
    cfg.normEps = r.num('rms_norm_eps', 1e-5);
    cfg.qkNormWhole = true;
    cfg.moe = olmoeMoe(r);
    return cfg;
  },
  place: llamaPlace,
  gguf: { blocks: 'llama', permuteQK: false, unsupported: () => ['num_experts', 'GGUF export of mixture-of-experts models is not supported'] },
};
