/**
 * A byte-level BPE `tokenizer.json` as llama.cpp's embedded vocabulary (`tokenizer.ggml.*`), the
 * way convert_hf_to_gguf.py's `_set_vocab_gpt2` writes it: tokens by id (ids the tokenizer lacks
 * become `[PADn]`, type UNUSED), token types (NORMAL, CONTROL for special added tokens,
 * USER_DEFINED for the others), merges as "a b", the special ids, and the pre-tokenizer's name.
 *
 * llama.cpp does not run tokenizer.json's pre-tokenizer: it picks a built-in regex set by the
 * name in `tokenizer.ggml.pre`, so the name must be one it knows and match what the JSON does.
 */
import { InputError } from '../errors.ts';
import type { GgufMetadata } from './gguf.ts';

/** llama_token_type. */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface VocabSpecials {
  readonly bos?: number;
  readonly eos?: number;
  readonly pad?: number;
  readonly unk?: number;
  readonly addBos: boolean;
}

type Json = Record<string, unknown>;

const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function obj(v: unknown): Json | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
}

function steps(pre: Json | null): Json[] {
  if (!pre) return [];
  if (pre['type'] === 'Sequence' && Array.isArray(pre['pretokenizers'])) {
    return (pre['pretokenizers'] as unknown[]).map(obj).filter((x): x is Json => x !== null);
  }
  return [pre];
}

/**
 * The llama.cpp pre-tokenizer name for tokenizer.json's pre_tokenizer, or null when none of the
 * built-in ones does the same splitting.
 */
export function preTokenizerName(tokenizerJson: unknown): string | null {
  const s = steps(obj(obj(tokenizerJson)?.['pre_tokenizer']));
  const byteLevel = (x: Json | undefined, regex: boolean): boolean => x?.['type'] === 'ByteLevel' && (x['use_regex'] ?? true) === regex;
  if (s.length === 1 && byteLevel(s[0], true)) return 'gpt-2';
  if (s.length === 2 && s[0]!['type'] === 'Split' && byteLevel(s[1], false)) {
    const regex = obj(s[0]!['pattern'])?.['Regex'];
    if (regex === QWEN2_REGEX) return 'qwen2';
    if (regex === LLAMA3_REGEX) return 'llama-bpe';
  }
  if (s.length === 2 && s[0]!['type'] === 'Digits' && s[0]!['individual_digits'] === true && byteLevel(s[1], true)) return 'smollm';
  return null;
}

/** "<|im_end|>"-like tokens are control tokens even when not marked special (the converter's rule). */
function looksSpecial(token: string): boolean {
  return (token.startsWith('<|') && token.endsWith('|>')) || (token.startsWith('<｜') && token.endsWith('｜>'));
}

/**
 * Adds the tokenizer keys to `md`. `vocabSize` is the model's (its embedding rows); a tokenizer
 * with more tokens than that cannot be embedded. Returns warnings for the user.
 */
export function vocabMetadata(tokenizerJson: unknown, file: string, vocabSize: number, specials: VocabSpecials, md: GgufMetadata): string[] {
  const warnings: string[] = [];
  const root = obj(tokenizerJson);
  const model = obj(root?.['model']);
  if (!model || model['type'] !== 'BPE') {
    throw new InputError(file, `GGUF export embeds byte-level BPE tokenizers only (model.type is ${JSON.stringify(model?.['type'])})`, 'model.type');
  }
  const vocab = obj(model['vocab']);
  if (!vocab) throw new InputError(file, 'expected an object of token → id', 'model.vocab');
  const tokens: (string | undefined)[] = new Array(vocabSize);
  const types = new Int32Array(vocabSize).fill(TokenType.NORMAL);
  const place = (token: string, id: unknown, where: string): void => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new InputError(file, `token id ${JSON.stringify(id)} is not a valid id`, where);
    if (id >= vocabSize) throw new InputError(file, `token ${JSON.stringify(token)} has id ${id}, past the model's ${vocabSize} embedding rows`, where);
    tokens[id] = token;
  };
  for (const [token, id] of Object.entries(vocab)) place(token, id, 'model.vocab');
  const added = Array.isArray(root!['added_tokens']) ? (root!['added_tokens'] as unknown[]) : [];
  for (const a of added) {
    const t = obj(a);
    if (!t || typeof t['content'] !== 'string') throw new InputError(file, 'expected {id, content, special}', 'added_tokens');
    place(t['content'], t['id'], 'added_tokens');
    types[t['id'] as number] = t['special'] === true || looksSpecial(t['content']) ? TokenType.CONTROL : TokenType.USER_DEFINED;
  }
  let unused = 0;
  for (let i = 0; i < vocabSize; i++) {
    if (tokens[i] === undefined) {
      tokens[i] = `[PAD${i}]`;
      types[i] = TokenType.UNUSED;
      unused++;
    }
  }
  if (unused) warnings.push(`${unused} of the model's ${vocabSize} token ids have no token in ${file}; they are written as [PADn] (unused)`);
  const merges = Array.isArray(model['merges']) ? (model['merges'] as unknown[]) : [];
  const mergeText = merges.map((m, i) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return `${m[0]} ${m[1]}`;
    throw new InputError(file, 'expected "a b" or ["a", "b"]', `model.merges[${i}]`);
  });
  let pre = preTokenizerName(tokenizerJson);
  if (!pre) {
    pre = 'default';
    warnings.push(`${file}: llama.cpp has no built-in pre-tokenizer matching this one; "default" is written, so llama.cpp may split text differently`);
  }
  md.set('tokenizer.ggml.model', { type: 'string', value: 'gpt2' });
  md.set('tokenizer.ggml.pre', { type: 'string', value: pre });
  md.set('tokenizer.ggml.tokens', { type: 'string[]', value: tokens as string[] });
  md.set('tokenizer.ggml.token_type', { type: 'i32[]', value: types });
  md.set('tokenizer.ggml.merges', { type: 'string[]', value: mergeText });
  const id = (key: string, v: number | undefined): void => {
    if (v !== undefined) md.set(`tokenizer.ggml.${key}`, { type: 'u32', value: v });
  };
  id('bos_token_id', specials.bos);
  id('eos_token_id', specials.eos);
  id('unknown_token_id', specials.unk);
  id('padding_token_id', specials.pad);
  md.set('tokenizer.ggml.add_bos_token', { type: 'bool', value: specials.addBos });
  md.set('tokenizer.ggml.add_eos_token', { type: 'bool', value: false });
  return warnings;
}

/** Whether tokenizer.json's post-processor puts the BOS token in front of a single text. */
export function postProcessorAddsBos(tokenizerJson: unknown, bos: string | undefined): boolean {
  if (bos === undefined) return false;
  const first = (p: Json | null): boolean => {
    if (!p) return false;
    if (p['type'] === 'Sequence' && Array.isArray(p['processors'])) return (p['processors'] as unknown[]).some((x) => first(obj(x)));
    if (p['type'] !== 'TemplateProcessing' || !Array.isArray(p['single'])) return false;
    return obj(obj((p['single'] as unknown[])[0])?.['SpecialToken'])?.['id'] === bos;
  };
  return first(obj(obj(tokenizerJson)?.['post_processor']));
}
