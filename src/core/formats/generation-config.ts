/**
 * generation_config.json (transformers' GenerationConfig): the token ids that end generation.
 * Instruct models often list more than config.json does (e.g. Qwen2: <|im_end|> and <|endoftext|>).
 */
import { InputError } from '../errors.ts';
import { readJson, type FileTree } from './bytes.ts';

export interface GenerationConfig {
  readonly eosTokenIds: readonly number[];
  readonly padTokenId?: number;
}

const ids = (file: string, key: string, v: unknown): number[] => {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) throw new InputError(file, `${key} must be a token id or a list of them`, key);
  return list as number[];
};

/** The folder's generation_config.json, or null when it has none. */
export async function readGenerationConfig(tree: FileTree): Promise<GenerationConfig | null> {
  const src = await tree.open('generation_config.json');
  if (!src) return null;
  const file = `${tree.name}/generation_config.json`;
  let json: unknown;
  try {
    json = await readJson(src);
  } catch (e) {
    throw new InputError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InputError(file, 'must be a JSON object');
  const o = json as Record<string, unknown>;
  const pad = ids(file, 'pad_token_id', o['pad_token_id']);
  return { eosTokenIds: ids(file, 'eos_token_id', o['eos_token_id']), ...(pad.length ? { padTokenId: pad[0]! } : {}) };
}
