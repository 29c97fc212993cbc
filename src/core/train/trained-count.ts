import type { ModelConfig } from '../model/config.ts';
import type { ParamStore } from '../model/param-store.ts';
import type { TrainConfig } from './config.ts';
import { optimizerGroups } from './param-groups.ts';

/**
 * Parameters a full fine-tuning run updates (in a half fine-tuning round: the first round's half)
 * and the bytes of Adam state they need: frozen weights get none (half fine-tuning keeps every
 * weight's moments, since the halves swap).
 */
export function trainedParameters(
  cfg: ModelConfig, store: ParamStore, config: TrainConfig,
): { trained: number; total: number; adamBytes: number; gradBytes: number } {
  const scale = optimizerGroups(config, cfg);
  let trained = 0;
  for (const name of store.names) {
    const t = store.get(name);
    if (!scale || scale(name, t.shape) > 0) trained += t.shape.reduce((a, b) => a * b, 1);
  }
  const total = store.count;
  // Gradients too: plain freezing holds them for the trained weights only (model/frozen-grads.ts).
  const held = config.halfFt ? total : trained;
  return { trained, total, adamBytes: 2 * 4 * held, gradBytes: 4 * held };
}
