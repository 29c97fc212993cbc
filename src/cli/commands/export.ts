import { basename, dirname, join, resolve } from 'node:path';
import { ggufChunks, type GgufTensorSource } from '../../core/formats/gguf.ts';
import { GGUF_OUT_TYPES } from '../../core/deploy/gguf-export.ts';
import { ggufPlan, loraFactors, ollamaModelfile } from '../../core/deploy/gguf-files.ts';
import { readPeftAdapter } from '../../core/model/lora.ts';
import { prepareModel } from '../../core/session.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { options, required, UsageError, type CommandSpec, type Parsed } from '../args.ts';
import { writeFileAtomic, writeStreamAtomic } from '../../platform/node-atomic.ts';
import { checkOutputs } from '../output-checks.ts';
import { trainedBaseNote } from '../trained-base.ts';
import { modelDir } from '../common.ts';
import type { Output } from '../output.ts';

export const spec = {
  name: 'export',
  summary: 'export a model (with a merged LoRA adapter) or an adapter alone as GGUF for llama.cpp / Ollama, with a Modelfile',
  usage: 'tabtune export --format gguf|gguf-lora --model DIR [--adapter DIR] --out FILE.gguf [--type f32|f16|q8_0] [--no-modelfile] [--json]',
  flags: [
    {
      name: 'format', kind: 'string', value: 'gguf|gguf-lora',
      help: 'gguf: the merged model; gguf-lora: the adapter alone (llama.cpp --lora)', default: 'gguf', choices: ['gguf', 'gguf-lora'],
    },
    { name: 'model', kind: 'string', value: 'DIR', help: 'Hugging Face model folder (default: the demo model)' },
    { name: 'adapter', kind: 'string', value: 'DIR', help: 'PEFT LoRA adapter folder (merged into the weights with --format gguf)' },
    { name: 'out', kind: 'string', value: 'FILE.gguf', help: 'the GGUF file to write' },
    {
      name: 'type', kind: 'string', value: 'f32|f16|q8_0',
      help: 'weight type (norms and biases stay f32; q8_0 rows not a multiple of 32 are f16)', default: 'f16', choices: GGUF_OUT_TYPES,
    },
    { name: 'name', kind: 'string', value: 'NAME', help: 'general.name in the file (default: the model folder name)' },
    { name: 'modelfile', kind: 'boolean', help: 'write an Ollama Modelfile beside the GGUF (--no-modelfile: do not)', default: true },
    { name: 'base-gguf', kind: 'string', value: 'PATH', help: 'with gguf-lora: the base GGUF the Modelfile names in FROM', default: './base.gguf' },
  ],
  examples: [
    'tabtune export --format gguf --model ./base --adapter ./run --out ./model.gguf --type q8_0',
    'tabtune export --format gguf-lora --model ./base --adapter ./run --out ./adapter.gguf --base-gguf ./base.gguf',
  ],
} as const satisfies CommandSpec;

export async function run(p: Parsed, out: Output): Promise<void> {
  const o = options(spec, p);
  const { format, type } = o;
  const model = modelDir(o.model);
  const adapterDir = o.adapter === undefined ? undefined : resolve(o.adapter);
  if (format === 'gguf-lora' && !adapterDir) throw new UsageError('--format gguf-lora needs --adapter');
  const outPath = resolve(required(o.out, 'out'));
  if (!outPath.endsWith('.gguf')) throw new UsageError(`--out must name a .gguf file, got "${o.out}"`);
  const modelfilePath = o.modelfile ? join(dirname(outPath), 'Modelfile') : null;
  checkOutputs({ inputs: { '--model': model, '--adapter': adapterDir }, files: { '--out': outPath, '--out (Modelfile)': modelfilePath ?? undefined } });

  const prepared = await prepareModel(nodeFileTree(model));
  const lora = adapterDir ? loraFactors(await readPeftAdapter(prepared.inspected.cfg, nodeFileTree(adapterDir)), adapterDir) : undefined;
  const name = o.name ?? basename(model);
  const plan = await ggufPlan(prepared, model, format, type, name, lora);
  for (const w of plan.warnings) out.warn(w);
  const qlora = adapterDir ? trainedBaseNote(adapterDir) : null;
  if (qlora) out.warn(qlora);

  let done = 0;
  const tensors: GgufTensorSource[] = plan.tensors.map((t) => ({
    info: t.info,
    data: async () => {
      out.progress(`writing ${basename(outPath)}: ${++done}/${plan.tensors.length} tensors`);
      return t.data();
    },
  }));
  const bytes = await writeStreamAtomic(outPath, ggufChunks(plan.metadata, tensors));
  out.clearProgress();
  const files = [outPath];
  if (modelfilePath) {
    const from = format === 'gguf' ? `./${basename(outPath)}` : o.baseGguf;
    const adapter = format === 'gguf-lora' ? `./${basename(outPath)}` : undefined;
    writeFileAtomic(modelfilePath, new TextEncoder().encode(await ollamaModelfile(prepared, from, adapter, (line) => out.warn(line))));
    files.push(modelfilePath);
  }
  out.record({ format, type, out: outPath, bytes, tensors: plan.tensors.length, adapter: adapterDir ?? null, files, warnings: plan.warnings });
  out.say(`${format === 'gguf' ? (lora ? 'merged model' : 'model') : 'LoRA adapter'} written to ${outPath} (${(bytes / 2 ** 20).toFixed(1)} MiB, ${type})`);
  if (modelfilePath) out.say(`Ollama: cd ${dirname(outPath)} && ollama create NAME -f Modelfile`);
}
