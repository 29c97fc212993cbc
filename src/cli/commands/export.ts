import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../../core/errors.ts';
import { readJson, type FileTree } from '../../core/formats/bytes.ts';
import { ggufChunks, type GgufTensorSource } from '../../core/formats/gguf.ts';
import { GGUF_OUT_TYPES, loraGguf, modelGguf, type GgufFilePlan, type GgufOutType } from '../../core/deploy/gguf-export.ts';
import type { LoraFactors } from '../../core/formats/gguf-merge.ts';
import { postProcessorAddsBos, type VocabSpecials } from '../../core/formats/gguf-vocab.ts';
import { modelfileText, stopSequences, templateParts, type TemplateParts } from '../../core/formats/ollama-modelfile.ts';
import type { Tokenizer } from '../../core/formats/tokenizer/tokenizer.ts';
import type { ModelConfig } from '../../core/model/config.ts';
import { readPeftAdapter } from '../../core/model/lora.ts';
import { prepareModel } from '../../core/session.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { need, UsageError, type CommandSpec, type Parsed } from '../args.ts';
import { writeFileAtomic, writeStreamAtomic } from '../../platform/node-atomic.ts';
import { checkOutputs } from '../output-checks.ts';
import { modelDir } from '../common.ts';
import type { Output } from '../output.ts';

export const spec: CommandSpec = {
  name: 'export',
  summary: 'export a model (with a merged LoRA adapter) or an adapter alone as GGUF for llama.cpp / Ollama, with a Modelfile',
  usage: 'tabtune export --format gguf|gguf-lora --model DIR [--adapter DIR] --out FILE.gguf [--type f32|f16|q8_0] [--no-modelfile] [--json]',
  flags: [
    { name: 'format', kind: 'string', value: 'gguf|gguf-lora',
      help: 'gguf: the merged model; gguf-lora: the adapter alone (llama.cpp --lora)', default: 'gguf' },
    { name: 'model', kind: 'string', value: 'DIR', help: 'Hugging Face model folder (default: the demo model)' },
    { name: 'adapter', kind: 'string', value: 'DIR', help: 'PEFT LoRA adapter folder (merged into the weights with --format gguf)' },
    { name: 'out', kind: 'string', value: 'FILE.gguf', help: 'the GGUF file to write' },
    { name: 'type', kind: 'string', value: 'f32|f16|q8_0',
      help: 'weight type (norms and biases stay f32; q8_0 rows not a multiple of 32 are f16)', default: 'f16' },
    { name: 'name', kind: 'string', value: 'NAME', help: 'general.name in the file (default: the model folder name)' },
    { name: 'modelfile', kind: 'boolean', help: 'write an Ollama Modelfile beside the GGUF (--no-modelfile: do not)', default: true },
    { name: 'base-gguf', kind: 'string', value: 'PATH', help: 'with gguf-lora: the base GGUF the Modelfile names in FROM', default: './base.gguf' },
  ],
  examples: [
    'tabtune export --format gguf --model ./base --adapter ./run --out ./model.gguf --type q8_0',
    'tabtune export --format gguf-lora --model ./base --adapter ./run --out ./adapter.gguf --base-gguf ./base.gguf',
  ],
};

async function jsonFile(tree: FileTree, name: string): Promise<{ json: unknown; file: string } | null> {
  const src = await tree.open(name);
  return src ? { json: await readJson(src), file: src.name } : null;
}

function specialsOf(tok: Tokenizer, tokenizerJson: unknown, tokConfig: unknown, cfg: ModelConfig): VocabSpecials {
  const s = tok.specialTokens;
  const configured = (tokConfig as Record<string, unknown> | null)?.['add_bos_token'];
  return {
    bos: s.bos?.id ?? cfg.bosTokenId,
    eos: s.eos?.id ?? cfg.eosTokenIds[0],
    pad: s.pad?.id ?? cfg.padTokenId,
    unk: s.unk?.id,
    addBos: typeof configured === 'boolean' ? configured : postProcessorAddsBos(tokenizerJson, s.bos?.content),
  };
}

/** Ollama parameter names for generation_config.json's sampling fields. */
const SAMPLING: Record<string, string> = { temperature: 'temperature', top_p: 'top_p', top_k: 'top_k', repetition_penalty: 'repeat_penalty' };

async function modelfile(tree: FileTree, tok: Tokenizer | null, cfg: ModelConfig, from: string, adapter: string | undefined, out: Output): Promise<string> {
  let parts: TemplateParts | null = null;
  if (tok?.chatTemplate) {
    try {
      parts = templateParts((messages, gen) => tok.applyChatTemplate(messages, { addGenerationPrompt: gen }));
    } catch (e) {
      out.warn(`the Modelfile has no TEMPLATE: ${(e as Error).message}; write one by hand`);
    }
  } else {
    out.warn('the model has no chat template, so the Modelfile has no TEMPLATE');
  }
  const parameters: Record<string, number> = { num_ctx: cfg.maxPositions };
  const gen = (await jsonFile(tree, 'generation_config.json'))?.json as Record<string, unknown> | undefined;
  for (const [hf, ollama] of Object.entries(SAMPLING)) if (typeof gen?.[hf] === 'number') parameters[ollama] = gen[hf] as number;
  const specials = tok ? tok.addedTokens.filter((t) => t.special).map((t) => t.content) : [];
  const stops = stopSequences(parts, tok?.specialTokens.eos?.content, specials);
  return modelfileText({ from, adapter, template: parts, stops, parameters });
}

export async function run(p: Parsed, out: Output): Promise<void> {
  const format = p.format as string;
  if (format !== 'gguf' && format !== 'gguf-lora') throw new UsageError(`--format must be gguf or gguf-lora, got "${format}"`);
  const type = p.type as GgufOutType;
  if (!GGUF_OUT_TYPES.includes(type)) throw new UsageError(`--type must be one of ${GGUF_OUT_TYPES.join(', ')}, got "${p.type}"`);
  const model = modelDir(p.model as string | undefined);
  const adapterDir = p.adapter === undefined ? undefined : resolve(p.adapter as string);
  if (format === 'gguf-lora' && !adapterDir) throw new UsageError('--format gguf-lora needs --adapter');
  const outPath = resolve(need<string>(p, 'out'));
  if (!outPath.endsWith('.gguf')) throw new UsageError(`--out must name a .gguf file, got "${p.out}"`);
  const modelfilePath = p.modelfile ? join(dirname(outPath), 'Modelfile') : null;
  checkOutputs({ inputs: { '--model': model, '--adapter': adapterDir }, files: { '--out': outPath, '--out (Modelfile)': modelfilePath ?? undefined } });

  const tree = nodeFileTree(model);
  const prepared = await prepareModel(tree);
  const { cfg, st } = prepared.inspected;
  let lora: LoraFactors | undefined;
  if (adapterDir) {
    const a = await readPeftAdapter(cfg, nodeFileTree(adapterDir));
    const noDora = 'a DoRA adapter has no GGUF LoRA form: merge it (tabtune merge) and export the merged model';
    if (a.settings.dora) throw new InputError(join(adapterDir, 'adapter_config.json'), noDora, 'use_dora');
    lora = { r: a.settings.r, alpha: a.settings.alpha, rslora: a.settings.rslora, values: a.values };
  }
  const name = (p.name as string | undefined) ?? basename(model);
  let plan: GgufFilePlan;
  if (format === 'gguf') {
    const tokenizer = await jsonFile(tree, 'tokenizer.json');
    if (!tokenizer || !prepared.tokenizer) throw new InputError(`${model}/tokenizer.json`, 'not found: llama.cpp needs the vocabulary inside the GGUF');
    const tokConfig = (await jsonFile(tree, 'tokenizer_config.json'))?.json ?? null;
    plan = modelGguf({
      cfg, name, file: prepared.inspected.file, tensorNames: st.names(), read: (n) => st.readF32(n),
      tokenizerJson: tokenizer.json, tokenizerFile: tokenizer.file,
      specials: specialsOf(prepared.tokenizer, tokenizer.json, tokConfig, cfg), chatTemplate: prepared.tokenizer.chatTemplate,
    }, type, lora);
  } else {
    plan = loraGguf(cfg, lora!, name, type);
  }
  for (const w of plan.warnings) out.warn(w);

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
    const from = format === 'gguf' ? `./${basename(outPath)}` : (p['base-gguf'] as string);
    const adapter = format === 'gguf-lora' ? `./${basename(outPath)}` : undefined;
    writeFileAtomic(modelfilePath, new TextEncoder().encode(await modelfile(tree, prepared.tokenizer, cfg, from, adapter, out)));
    files.push(modelfilePath);
  }
  out.record({ format, type, out: outPath, bytes, tensors: plan.tensors.length, adapter: adapterDir ?? null, files, warnings: plan.warnings });
  out.say(`${format === 'gguf' ? (lora ? 'merged model' : 'model') : 'LoRA adapter'} written to ${outPath} (${(bytes / 2 ** 20).toFixed(1)} MiB, ${type})`);
  if (modelfilePath) out.say(`Ollama: cd ${dirname(outPath)} && ollama create NAME -f Modelfile`);
}
