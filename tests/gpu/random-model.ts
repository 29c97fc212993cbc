import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomCheckpoint } from '../../src/core/model/presets.ts';

/** Writes config.json + model.safetensors with random weights (random norms and biases) into a temporary folder. */
export function writeRandomModel(config: Record<string, unknown>, seed: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'tabtune-model-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const { header, tensors } = randomCheckpoint(config, { seed, randomNorms: true });
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([header, ...tensors.map((t) => t.data())]));
  return dir;
}
