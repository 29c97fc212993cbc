import type { ModelConfig } from '../model/config.ts';
import { placements } from '../model/layout.ts';
import type { TrainConfig } from './config.ts';
import { freezes, trainsParameter } from './freeze.ts';

/**
 * changed_tensors.json of a full fine-tuning folder: which Hugging Face tensors training changed
 * and which are the base's, byte for byte (a frozen tensor gets no update at all).
 */
export function changedTensorsJson(cfg: ModelConfig, chunks: readonly { start: number; rows: number }[], config: TrainConfig): Uint8Array {
  const trains = freezes(config.freeze) ? trainsParameter(cfg, config.freeze) : () => true;
  const changed: string[] = [];
  const unchanged: string[] = [];
  for (const p of placements(cfg, chunks)) {
    const name = p.inBody ? `${cfg.arch === 'gpt2' ? 'transformer' : 'model'}.${p.hf}` : p.hf;
    (p.parts.some((part) => trains(part.param)) ? changed : unchanged).push(name);
  }
  const doc = { freeze: config.freeze ?? null, changed: changed.sort(), unchanged: unchanged.sort() };
  return new TextEncoder().encode(`${JSON.stringify(doc, null, 2)}\n`);
}
