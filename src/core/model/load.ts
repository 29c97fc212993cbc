import { InputError } from '../errors.ts';
import { readJson, type FileTree } from '../formats/bytes.ts';
import { SafetensorsModel } from '../formats/safetensors.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { parseConfig, type ModelConfig } from './config.ts';
import { Transformer } from './transformer.ts';
import { ModelWeights } from './weights.ts';

export async function readModelConfig(tree: FileTree): Promise<ModelConfig> {
  const src = await tree.open('config.json');
  if (!src) throw new InputError(`${tree.name}/config.json`, 'not found (is this a Hugging Face model folder?)');
  return parseConfig(await readJson(src), src.name);
}

/** Loads a Hugging Face model folder (config.json + safetensors) onto the GPU. */
export async function loadTransformer(gpu: Gpu, tree: FileTree, onProgress?: (done: number, total: number) => void): Promise<Transformer> {
  const cfg = await readModelConfig(tree);
  const st = await SafetensorsModel.open(tree);
  const weights = await ModelWeights.load(gpu, cfg, st, `${tree.name}/${st.files.length > 1 ? 'model.safetensors.index.json' : 'model.safetensors'}`, onProgress);
  return new Transformer(gpu, cfg, weights);
}
