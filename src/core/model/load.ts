import { InputError } from '../errors.ts';
import { readJson, type FileTree } from '../formats/bytes.ts';
import { SafetensorsModel } from '../formats/safetensors.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { QuantOption } from './base-quant.ts';
import { parseConfig, type ModelConfig } from './config.ts';
import { Transformer } from './transformer.ts';
import { ModelWeights } from './weights.ts';

export async function readModelConfig(tree: FileTree): Promise<ModelConfig> {
  const src = await tree.open('config.json');
  if (!src) throw new InputError(`${tree.name}/config.json`, 'not found (is this a Hugging Face model folder?)');
  return parseConfig(await readJson(src), src.name);
}

/** A model folder whose config and checkpoint headers were read and checked, without the GPU. */
export interface InspectedModel {
  readonly cfg: ModelConfig;
  readonly st: SafetensorsModel;
  /** The checkpoint file named in errors. */
  readonly file: string;
}

export async function inspectModel(tree: FileTree): Promise<InspectedModel> {
  const cfg = await readModelConfig(tree);
  const st = await SafetensorsModel.open(tree);
  const file = `${tree.name}/${st.files.length > 1 ? 'model.safetensors.index.json' : 'model.safetensors'}`;
  ModelWeights.check(cfg, st, file);
  return { cfg, st, file };
}

/** Loads a Hugging Face model folder (config.json + safetensors) onto the GPU. */
/** `quant` (or `int8`): hold the linear weights quantised, int8 per row or NF4 per 64 (LoRA, evaluation, generation). */
export async function loadTransformer(
  gpu: Gpu, tree: FileTree | InspectedModel, onProgress?: (done: number, total: number) => void, o: QuantOption = {},
): Promise<Transformer> {
  const m = 'cfg' in tree ? tree : await inspectModel(tree);
  const weights = await ModelWeights.load(gpu, m.cfg, m.st, m.file, onProgress, o.quant ?? (o.int8 ? 'int8' : 'none'));
  return new Transformer(gpu, m.cfg, weights);
}
