import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../core/formats/safetensors.ts';
import { SafetensorsFile } from '../core/formats/safetensors.ts';
import { InputError } from '../core/errors.ts';
import type { Checkpoint } from '../core/train/trainer.ts';
import { nodeFileSource } from '../platform/node-files.ts';
import { writeFiles } from './commands/merge.ts';

/**
 * A checkpoint folder, as HF's Trainer writes them under the output folder: trainer_state.json,
 * optimizer.safetensors (trainable parameters, Adam moments) and the adapter (or model) files,
 * so a checkpoint is itself a usable adapter.
 */
export function saveCheckpoint(dir: string, c: Checkpoint, modelFiles: Record<string, Uint8Array>): void {
  const tensors = Object.entries(c.tensors).map(([name, data]) => ({ name, dtype: 'F32' as const, shape: [data.length], data }));
  writeFiles(dir, {
    ...modelFiles,
    'trainer_state.json': new TextEncoder().encode(JSON.stringify(c.state)),
    'optimizer.safetensors': writeSafetensors(tensors),
  });
}

/** Reads a checkpoint folder, or the newest checkpoint-N inside an output folder. */
export async function loadCheckpoint(path: string): Promise<{ dir: string; checkpoint: Checkpoint }> {
  let dir = path;
  if (!existsSync(join(dir, 'trainer_state.json'))) {
    const steps = existsSync(dir) ? readdirSync(dir).map((n) => /^checkpoint-(\d+)$/.exec(n)).filter((m) => m).map((m) => Number(m![1])) : [];
    if (!steps.length) throw new InputError(path, 'no trainer_state.json here and no checkpoint-N folder inside');
    dir = join(dir, `checkpoint-${Math.max(...steps)}`);
  }
  let state: Checkpoint['state'];
  try {
    state = JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8')) as Checkpoint['state'];
  } catch (e) {
    throw new InputError(join(dir, 'trainer_state.json'), `not readable (${(e as Error).message})`);
  }
  const file = await SafetensorsFile.open(await nodeFileSource(join(dir, 'optimizer.safetensors')));
  const tensors: Record<string, Float32Array> = {};
  for (const name of file.names()) tensors[name] = await file.readF32(name);
  return { dir, checkpoint: { state, tensors } };
}
