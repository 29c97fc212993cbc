import type { ModelConfig } from '../model/config.ts';
import { paramSpecs } from '../model/layout.ts';
import type { ParamStore } from '../model/param-store.ts';
import { trainConfig, type TrainConfig, type TrainConfigInput } from './config.ts';
import { optimizerGroups } from './param-groups.ts';

type Counted = { trained: number; total: number; adamBytes: number; gradBytes: number };

/**
 * Parameters a full fine-tuning run updates (in a half fine-tuning round: the first round's half)
 * and the bytes of Adam state they need: frozen weights get none (half fine-tuning keeps every
 * weight's moments, since the halves swap).
 */
export function trainedParameters(cfg: ModelConfig, store: ParamStore, config: TrainConfig): Counted {
  return countTrained(cfg, store.names.map((name) => ({ name, shape: store.get(name).shape })), config);
}

/**
 * The bytes of gradients a full run holds (the memory estimate's `trainedBytes`; Adam state is
 * twice that), from the model's shape alone, before any weight is loaded; undefined for LoRA.
 */
export function trainedBytes(cfg: ModelConfig, run: Pick<TrainConfigInput, 'method' | 'freeze' | 'halfFt'>): number | undefined {
  if (run.method !== 'full') return undefined;
  const specs = paramSpecs(cfg, [{ start: 0, rows: cfg.vocabSize }]);
  return countTrained(cfg, specs, trainConfig({ method: 'full', freeze: run.freeze, halfFt: run.halfFt })).gradBytes;
}

function countTrained(cfg: ModelConfig, params: readonly { name: string; shape: readonly number[] }[], config: TrainConfig): Counted {
  const scale = optimizerGroups(config, cfg);
  let trained = 0;
  let total = 0;
  for (const { name, shape } of params) {
    const n = shape.reduce((a, b) => a * b, 1);
    total += n;
    if (!scale || scale(name, shape) > 0) trained += n;
  }
  // Gradients too: plain freezing holds them for the trained weights only (model/frozen-grads.ts).
  const held = config.halfFt ? total : trained;
  return { trained, total, adamBytes: 2 * 4 * held, gradBytes: 4 * held };
}
