/**
 * The GGUF export as one job for every host: a prepared model folder (and optionally a PEFT
 * adapter) to a GGUF plan, and the Ollama Modelfile beside it. `tabtune export` writes the result
 * to disk; the app's Worker hands it over as downloads.
 */
import { InputError } from '../errors.ts';
import { readJson, type FileTree } from '../formats/bytes.ts';
import { postProcessorAddsBos, type VocabSpecials } from '../formats/gguf-vocab.ts';
import type { LoraFactors } from '../formats/gguf-merge.ts';
import { modelfileText, stopSequences, templateParts, type TemplateParts } from '../formats/ollama-modelfile.ts';
import type { Tokenizer } from '../formats/tokenizer/tokenizer.ts';
import type { ModelConfig } from '../model/config.ts';
import type { PeftAdapterFiles } from '../model/lora.ts';
import type { PreparedModel } from '../session.ts';
import { loraGguf, modelGguf, type GgufFilePlan, type GgufOutType } from './gguf-export.ts';

export type GgufFormat = 'gguf' | 'gguf-lora';

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

/** The adapter's factors as the GGUF writers take them; `dir` names the adapter folder in errors. */
export function loraFactors(a: PeftAdapterFiles, dir: string): LoraFactors {
  if (a.settings.dora) {
    const why = 'a DoRA adapter has no GGUF LoRA form: merge it (tabtune merge) and export the merged model';
    throw new InputError(`${dir}/adapter_config.json`, why, 'use_dora');
  }
  return { r: a.settings.r, alpha: a.settings.alpha, rslora: a.settings.rslora, values: a.values };
}

/** The merged model (`gguf`) or the adapter alone (`gguf-lora`) as a GGUF plan; `dir` names the folder in errors. */
export async function ggufPlan(
  prepared: PreparedModel, dir: string, format: GgufFormat, type: GgufOutType, name: string, lora?: LoraFactors,
): Promise<GgufFilePlan> {
  const { cfg, st } = prepared.inspected;
  if (format === 'gguf-lora') {
    if (!lora) throw new Error('a LoRA GGUF needs an adapter');
    return loraGguf(cfg, lora, name, type);
  }
  const tokenizer = await jsonFile(prepared.tree, 'tokenizer.json');
  if (!tokenizer || !prepared.tokenizer) throw new InputError(`${dir}/tokenizer.json`, 'not found: llama.cpp needs the vocabulary inside the GGUF');
  const tokConfig = (await jsonFile(prepared.tree, 'tokenizer_config.json'))?.json ?? null;
  return modelGguf({
    cfg, name, file: prepared.inspected.file, tensorNames: st.names(), read: (n) => st.readF32(n),
    tokenizerJson: tokenizer.json, tokenizerFile: tokenizer.file,
    specials: specialsOf(prepared.tokenizer, tokenizer.json, tokConfig, cfg), chatTemplate: prepared.tokenizer.chatTemplate,
  }, type, lora);
}

/** Ollama parameter names for generation_config.json's sampling fields. */
const SAMPLING: Record<string, string> = { temperature: 'temperature', top_p: 'top_p', top_k: 'top_k', repetition_penalty: 'repeat_penalty' };

/** The Modelfile for a GGUF: FROM (and ADAPTER), the chat template as Ollama's, stop sequences, parameters. */
export async function ollamaModelfile(
  prepared: PreparedModel, from: string, adapter: string | undefined, warn: (line: string) => void,
): Promise<string> {
  const tok = prepared.tokenizer;
  const cfg = prepared.inspected.cfg;
  let parts: TemplateParts | null = null;
  if (tok?.chatTemplate) {
    try {
      parts = templateParts((messages, gen) => tok.applyChatTemplate(messages, { addGenerationPrompt: gen }));
    } catch (e) {
      warn(`the Modelfile has no TEMPLATE: ${(e as Error).message}; write one by hand`);
    }
  } else {
    warn('the model has no chat template, so the Modelfile has no TEMPLATE');
  }
  const parameters: Record<string, number> = { num_ctx: cfg.maxPositions };
  const gen = (await jsonFile(prepared.tree, 'generation_config.json'))?.json as Record<string, unknown> | undefined;
  for (const [hf, ollama] of Object.entries(SAMPLING)) if (typeof gen?.[hf] === 'number') parameters[ollama] = gen[hf] as number;
  const specials = tok ? tok.addedTokens.filter((t) => t.special).map((t) => t.content) : [];
  const stops = stopSequences(parts, tok?.specialTokens.eos?.content, specials);
  return modelfileText({ from, adapter, template: parts, stops, parameters });
}
