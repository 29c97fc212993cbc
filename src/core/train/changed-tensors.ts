import type { ModelConfig } from '../model/config.ts';
import { placements } from '../model/layout.ts';
import type { TrainConfig } from './config.ts';
import { freezes, trainsParameter } from './freeze.ts';
import { halfFtScale } from './half-ft.ts';

/**
 * changed_tensors.json of a full fine-tuning folder: which Hugging Face tensors training changed
 * and which are the base's, byte for byte (a frozen tensor gets no update at all).
 */
export function changedTensorsJson(cfg: ModelConfig, chunks: readonly { start: number; rows: number }[], config: TrainConfig, totalSteps: number): Uint8Array {
  const trains = config.halfFt ? halfFtUnion(cfg, config, totalSteps) : freezes(config.freeze) ? trainsParameter(cfg, config.freeze) : () => true;
  const changed: string[] = [];
  const unchanged: string[] = [];
  for (const p of placements(cfg, chunks)) {
    const name = p.inBody ? `${cfg.arch === 'gpt2' ? 'transformer' : 'model'}.${p.hf}` : p.hf;
    (p.parts.some((part) => trains(part.param)) ? changed : unchanged).push(name);
  }
  const doc = { freeze: config.freeze ?? null, halfFt: config.halfFt ?? null, changed: changed.sort(), unchanged: unchanged.sort() };
  return new TextEncoder().encode(`${JSON.stringify(doc, null, 2)}\n`);
}

/** Every parameter some round of a half fine-tuning run trained. */
function halfFtUnion(cfg: ModelConfig, config: TrainConfig, totalSteps: number): (name: string) => boolean {
  const rounds = Math.ceil(totalSteps / config.halfFt!.roundSteps);
  // Each pair of rounds trains a half and then its complement: two rounds cover the decoder.
  const scales = Array.from({ length: Math.min(rounds, 2) }, (_, k) => halfFtScale(cfg, config.seed, k));
  return (name) => scales.some((s) => s(name) > 0);
}
