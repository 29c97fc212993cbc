/**
 * Qwen2 (Qwen2ForCausalLM): Llama's blocks with q/k/v biases always on and no o_proj or MLP
 * biases. Defaults follow Qwen2Config. Sliding-window layers are reported, not applied.
 */
import { llamaPlace, llamaShape } from './llama.ts';
import type { ArchSpec } from './types.ts';

export const QWEN2: ArchSpec = {
  modelType: 'qwen2',
  classes: ['Qwen2ForCausalLM', 'Qwen2Model'],
  bodyPrefix: 'model.',
  shape(r, warnings) {
    const cfg = llamaShape(r, { maxPositions: 32768, qkvBias: true, oBias: false, mlpBias: false });
    if (r.bool('use_sliding_window', false)) {
      cfg.slidingWindow = r.int('sliding_window', 4096);
      warnings.push(`use_sliding_window is true: layers from max_window_layers on attend within ${cfg.slidingWindow} tokens`);
    }
    return cfg;
  },
  place: llamaPlace,
  gguf: { blocks: 'llama', permuteQK: false, unsupported: () => null },
};
