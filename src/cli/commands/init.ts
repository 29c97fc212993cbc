import { join, resolve } from 'node:path';
import { PRESETS, randomCheckpoint } from '../../core/model/presets.ts';
import { writeFileAtomic } from '../../platform/node-atomic.ts';
import { options, required, type CommandSpec, type Parsed } from '../args.ts';
import { checkOutputs } from '../output-checks.ts';
import type { Output } from '../output.ts';

export const spec = {
  name: 'init',
  summary: 'write a model folder of a real architecture with random weights (for benchmarks; no download)',
  usage: `tabtune init --like ${Object.keys(PRESETS).join('|')} --out DIR [--dtype F32|BF16] [--seed S]`,
  flags: [
    { name: 'like', kind: 'string', value: 'NAME', help: `model shape: ${Object.keys(PRESETS).join(', ')}`, choices: Object.keys(PRESETS) },
    { name: 'out', kind: 'string', value: 'DIR', help: 'folder to write config.json and model.safetensors into' },
    { name: 'dtype', kind: 'string', value: 'DTYPE', help: 'weight dtype', default: 'BF16', choices: ['F32', 'BF16', 'F16'] },
    { name: 'seed', kind: 'int', help: 'random seed', default: 0, min: 0 },
  ],
  examples: ['tabtune init --like smollm2-135m --out /tmp/smollm2-random'],
} as const satisfies CommandSpec;

/** Writes config.json and a random model.safetensors of a preset shape, tensor by tensor. */
export function writeRandomModel(
  like: string, dir: string, dtype: 'F32' | 'BF16' | 'F16', seed: number, onTensor?: (name: string, i: number, n: number) => void,
): number {
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
  const o = options(spec, p);
  const like = required(o.like, 'like');
  const dir = resolve(required(o.out, 'out'));
  const dtype = o.dtype;
  checkOutputs({ inputs: {}, folder: { flag: '--out', path: dir, kind: 'model' } });
  const n = writeRandomModel(like, dir, dtype, o.seed, (name, i, total) => out.progress(`writing ${name} (${i + 1}/${total})`));
  out.clearProgress();
  out.record({ out: dir, like, dtype, tensors: n });
  out.say(`wrote ${like}-shaped random model to ${dir}`);
}
