import { basename, resolve } from 'node:path';
import { zipSync } from 'fflate';
import { options, required, type CommandSpec, type Parsed } from '../args.ts';
import { writeFileAtomic, writeFilesAtomic } from '../../platform/node-atomic.ts';
import { modelDir, openModel } from '../common.ts';
import { checkOutputs } from '../output-checks.ts';
import { trainedBaseNote } from '../trained-base.ts';
import type { Output } from '../output.ts';

export const spec = {
  name: 'merge',
  summary: 'merge a LoRA adapter into its base and save a full model folder transformers loads',
  usage: 'tabtune merge --model DIR --adapter DIR --out DIR [--json]',
  flags: [
    { name: 'model', kind: 'string', value: 'DIR', help: 'base model folder (default: the demo model)' },
    { name: 'adapter', kind: 'string', value: 'DIR', help: 'PEFT LoRA adapter folder' },
    { name: 'out', kind: 'string', value: 'DIR', help: 'output model folder' },
    { name: 'zip', kind: 'boolean', help: 'also write OUT.zip' },
  ],
  examples: ['tabtune merge --model ./base --adapter ./run/adapter --out ./merged'],
} as const satisfies CommandSpec;

export async function run(p: Parsed, out: Output): Promise<void> {
  const o = options(spec, p);
  const dir = resolve(required(o.out, 'out'));
  const model = modelDir(o.model);
  const adapter = required(o.adapter, 'adapter');
  checkOutputs({ inputs: { '--model': model, '--adapter': adapter }, folder: { flag: '--out', path: dir, kind: 'model', zip: o.zip } });
  const qlora = trainedBaseNote(resolve(adapter));
  if (qlora) out.warn(qlora);
  const session = await openModel(out, model, adapter);
  try {
    const files = await session.saveMerged();
    writeFiles(dir, files);
    if (o.zip) writeZip(`${dir}.zip`, dir, files);
    out.record({ out: dir, files: Object.keys(files) });
    out.say(`merged model written to ${dir} (${Object.keys(files).join(', ')})`);
  } finally {
    session.dispose();
  }
}

/** A .zip holding the files inside a folder named like `dir`. */
export function writeZip(path: string, dir: string, files: Record<string, Uint8Array>): void {
  const entries: Record<string, Uint8Array> = {};
  for (const [name, bytes] of Object.entries(files)) entries[`${basename(dir)}/${name}`] = bytes;
  writeFileAtomic(path, zipSync(entries, { level: 6 }));
}

/** Each file atomically; the file that marks the folder complete (run manifest, model config) goes last. */
export function writeFiles(dir: string, files: Record<string, Uint8Array>): void {
  const marker = ['run_manifest.json', 'config.json'].find((n) => n in files);
  const { [marker ?? '']: last, ...rest } = files;
  writeFilesAtomic(dir, marker && last ? { ...rest, [marker]: last } : files);
}
