/**
 * Mixtral (MixtralForCausalLM): Llama's attention with a sparse mixture-of-experts MLP
 * (`block_sparse_moe`: router `gate`, experts w1/w3/w2 as SwiGLU, top-k renormalised; see
 * moe-config.ts). Defaults follow MixtralConfig.
 */
import { mixtralMoe } from '../moe-config.ts';
import { llamaPlace, llamaShape } from './llama.ts';
import type { ArchSpec } from './types.ts';

export const MIXTRAL: ArchSpec = {
  modelType: 'mixtral',
  classes: ['MixtralForCausalLM', 'MixtralModel'],
  bodyPrefix: 'model.',
  shape(r, warnings) {
    const cfg = llamaShape(r, { maxPositions: 4096 * 32, oBias: false, mlpBias: false, qkvBias: false });
    cfg.moe = mixtralMoe(r, cfg.intermediate);
    if (r.has('sliding_window')) {
      cfg.slidingWindow = r.int('sliding_window');
      warnings.push(`sliding_window is ${cfg.slidingWindow}: attention beyond it is not windowed here`);
    }
    return cfg;
  },
  place: llamaPlace,
  gguf: { blocks: 'llama', permuteQK: true, unsupported: () => ['num_local_experts', 'GGUF export of mixture-of-experts models is not supported'] },
};
