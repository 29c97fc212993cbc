import type { DefaultTrainSettings } from '../core/train/defaults.ts';
import type { Parsed } from './args.ts';

/** `train` flags whose starting values come from `defaultTrainConfig` (model and data size). */
export const DERIVED_FLAGS = ['lr', 'schedule', 'warmup', 'batch', 'epochs', 'weight-decay', 'clip', 'lora-r', 'lora-alpha', 'lora-dropout'] as const;

export const DERIVED_HELP = 'default: chosen from the model and data size';

/** Fills the derived flags the user (or a run manifest) left unset; says whether any was filled. */
export function fillTrainDefaults(p: Parsed, d: DefaultTrainSettings): boolean {
  const c = d.config;
  const values: Record<(typeof DERIVED_FLAGS)[number], string | number> = {
    lr: c.lr, schedule: c.schedule, warmup: c.warmup, batch: c.batch, epochs: c.epochs, 'weight-decay': c.weightDecay, clip: c.clip,
    'lora-r': c.lora.r, 'lora-alpha': c.lora.alpha, 'lora-dropout': c.lora.dropout,
  };
  let filled = false;
  for (const flag of DERIVED_FLAGS) {
    if (p[flag] !== undefined) continue;
    p[flag] = values[flag];
    filled = true;
  }
  return filled;
}
