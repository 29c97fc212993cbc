import { join, resolve } from 'node:path';
import { PRESETS, randomCheckpoint } from '../../core/model/presets.ts';
import { writeFileAtomic } from '../../platform/node-atomic.ts';
import { UsageError, type CommandSpec, type Parsed } from '../args.ts';
import { checkOutputs } from '../output-checks.ts';
import type { Output } from '../output.ts';

export const spec: CommandSpec = {
  name: 'init',
  summary: 'write a model folder of a real architecture with random weights (for benchmarks; no download)',
  usage: `tabtune init --like ${Object.keys(PRESETS).join('|')} --out DIR [--dtype F32|BF16] [--seed S]`,
  flags: [
    { name: 'like', kind: 'string', value: 'NAME', help: `model shape: ${Object.keys(PRESETS).join(', ')}` },
    { name: 'out', kind: 'string', value: 'DIR', help: 'folder to write config.json and model.safetensors into' },
    { name: 'dtype', kind: 'string', value: 'DTYPE', help: 'weight dtype', default: 'BF16' },
    { name: 'seed', kind: 'int', help: 'random seed', default: 0 },
  ],
  examples: ['tabtune init --like smollm2-135m --out /tmp/smollm2-random'],
};

/** Writes config.json and a random model.safetensors of a preset shape, tensor by tensor. */
export function writeRandomModel(like: string, dir: string, dtype: 'F32' | 'BF16' | 'F16', seed: number, onTensor?: (name: string, i: number, n: number) => void): number {
  const config = { ...PRESETS[like], torch_dtype: dtype === 'F32' ? 'float32' : dtype === 'BF16' ? 'bfloat16' : 'float16' };
  const { header, tensors } = randomCheckpoint(config, { seed, dtype });
  // A 0.5B model never sits in memory whole; config.json comes last and marks the folder complete.
  writeFileAtomic(join(dir, 'model.safetensors'), (write) => {
    write(header);
    tensors.forEach((t, i) => {
      write(t.data());
      onTensor?.(t.name, i, tensors.length);
    });
  });
  writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return tensors.length;
}

export async function run(p: Parsed, out: Output): Promise<void> {
  const like = p.like as string | undefined;
  if (!like || !PRESETS[like]) throw new UsageError(`--like must be one of ${Object.keys(PRESETS).join(', ')}`);
  if (!p.out) throw new UsageError('--out is required');
  const dtype = String(p.dtype).toUpperCase();
  if (!['F32', 'BF16', 'F16'].includes(dtype)) throw new UsageError('--dtype must be F32, BF16 or F16');
  const dir = resolve(p.out as string);
  checkOutputs({ inputs: {}, folder: { flag: '--out', path: dir, kind: 'model' } });
  const n = writeRandomModel(like, dir, dtype as 'F32' | 'BF16' | 'F16', p.seed as number, (name, i, total) => out.progress(`writing ${name} (${i + 1}/${total})`));
  out.clearProgress();
  out.record({ out: dir, like, dtype, tensors: n });
  out.say(`wrote ${like}-shaped random model to ${dir}`);
}
