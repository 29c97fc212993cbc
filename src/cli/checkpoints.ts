import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../core/formats/safetensors.ts';
import { SafetensorsFile } from '../core/formats/safetensors.ts';
import { InputError } from '../core/errors.ts';
import type { Checkpoint } from '../core/train/trainer.ts';
import { isTempName, writeFolderAtomic } from '../platform/node-atomic.ts';
import { checksumProblem, checksumsJson, CHECKSUMS_FILE } from '../platform/node-checksums.ts';
import { nodeFileSource } from '../platform/node-files.ts';

/**
 * A checkpoint folder, as HF's Trainer writes them under the output folder: trainer_state.json,
 * optimizer.safetensors (trainable parameters, Adam moments) and the adapter (or model) files,
 * so a checkpoint is itself a usable adapter. checksums.json (SHA-256 of each file) is added so
 * a damaged checkpoint is never resumed from; the folder appears under its name only when whole.
 */
export function saveCheckpoint(dir: string, c: Checkpoint, modelFiles: Record<string, Uint8Array>): void {
  const tensors = Object.entries(c.tensors).map(([name, data]) => ({ name, dtype: 'F32' as const, shape: [data.length], data }));
  const files: Record<string, Uint8Array> = {
    ...modelFiles,
    'trainer_state.json': new TextEncoder().encode(JSON.stringify(c.state)),
    'optimizer.safetensors': writeSafetensors(tensors),
  };
  writeFolderAtomic(dir, { ...files, [CHECKSUMS_FILE]: checksumsJson(files) });
}

/** checkpoint-N folders in `dir`, newest first, and the names of interrupted checkpoint writes. */
function listCheckpoints(dir: string): { steps: number[]; interrupted: string[] } {
  const names = existsSync(dir) ? readdirSync(dir) : [];
  const steps = names.map((n) => /^checkpoint-(\d+)$/.exec(n)).filter((m) => m).map((m) => Number(m![1]));
  return { steps: steps.sort((a, b) => b - a), interrupted: names.filter((n) => isTempName(n) && n.startsWith('.checkpoint-')) };
}

/**
 * Reads a checkpoint folder, or the newest checkpoint-N inside an output folder whose files
 * verify against their checksums; each one passed over is named, with the reason, via `skipped`.
 */
export async function loadCheckpoint(path: string, skipped: (line: string) => void = () => {}): Promise<{ dir: string; checkpoint: Checkpoint }> {
  if (existsSync(join(path, 'trainer_state.json'))) {
    const problem = checksumProblem(path);
    if (problem) throw new InputError(path, `cannot resume from this checkpoint: ${problem}`);
    return { dir: path, checkpoint: await readCheckpoint(path) };
  }
  const { steps, interrupted } = listCheckpoints(path);
  for (const name of interrupted) {
    const gone = removeIfAbandoned(join(path, name));
    skipped(`skipped ${join(path, name)}: incomplete (its write was interrupted)${gone ? '; removed' : ''}`);
  }
  if (!steps.length) {
    throw new InputError(path, `no trainer_state.json here and no checkpoint-N folder inside${interrupted.length ? ' (only interrupted ones)' : ''}`);
  }
  for (const step of steps) {
    const dir = join(path, `checkpoint-${step}`);
    const problem = checksumProblem(dir);
    if (!problem) return { dir, checkpoint: await readCheckpoint(dir) };
    skipped(`skipped ${dir}: ${problem}`);
  }
  throw new InputError(path, `none of its ${steps.length} checkpoint folders verifies (see the lines above)`);
}

/** A temporary folder whose writer (the pid in its name) no longer runs is removed. */
function removeIfAbandoned(path: string): boolean {
  const pid = Number(/\.tmp-(\d+)-\d+$/.exec(path)?.[1] ?? NaN);
  if (!Number.isInteger(pid)) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') return false;
  }
  rmSync(path, { recursive: true, force: true });
  return true;
}

async function readCheckpoint(dir: string): Promise<Checkpoint> {
  let state: Checkpoint['state'];
  try {
    state = JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8')) as Checkpoint['state'];
  } catch (e) {
    throw new InputError(join(dir, 'trainer_state.json'), `not readable (${(e as Error).message})`);
  }
  const file = await SafetensorsFile.open(await nodeFileSource(join(dir, 'optimizer.safetensors')));
  const tensors: Record<string, Float32Array> = {};
  for (const name of file.names()) tensors[name] = await file.readF32(name);
  return { state, tensors };
}
