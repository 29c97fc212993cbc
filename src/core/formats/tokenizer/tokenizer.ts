/**
 * Byte-level BPE tokenizers loaded from a Hugging Face `tokenizer.json`, with the semantics of the
 * `tokenizers` crate: added tokens are matched in the raw text first (then, for `normalized`
 * ones, in the normalized text), the rest is normalized, pre-tokenized and merged by the BPE
 * model; decoding runs the decoder over all token strings at once.
 */
import { InputError } from '../../errors.ts';
import { readJson, readText, type FileTree } from '../bytes.ts';
import { renderChatTemplate, type ChatMessage } from '../chat-template.ts';
import { JsonReader } from './config.ts';
import { AddedTokenMatcher, readAddedTokens, type AddedToken } from './added-tokens.ts';
import { buildNormalizer, type Normalizer } from './normalizers.ts';
import { buildPreTokenizer, type PreTokenizer } from './pretokenizers.ts';
import { buildBpe, type BpeModel } from './bpe.ts';
import { buildDecoder, type Decoder } from './decoders.ts';
import { buildPostProcessor, type PostProcessor } from './postprocessors.ts';
import { piece, spanOf, sub, type Piece } from './pieces.ts';

export type { AddedToken } from './added-tokens.ts';
export type { ChatMessage } from '../chat-template.ts';

export interface SpecialToken {
  id: number;
  content: string;
}

export interface SpecialTokens {
  bos?: SpecialToken;
  eos?: SpecialToken;
  pad?: SpecialToken;
  unk?: SpecialToken;
}

export interface EncodeOptions {
  /** Apply the post-processor (e.g. a BOS from TemplateProcessing). Default false. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out added tokens marked `special`. Default false. */
  skipSpecialTokens?: boolean;
}

/** Files beside tokenizer.json that complete a tokenizer. */
export interface TokenizerExtras {
  /** Parsed tokenizer_config.json. */
  config?: unknown;
  /** Name of the config in error messages. */
  configName?: string;
  /** Contents of chat_template.jinja (wins over the config's chat_template). */
  chatTemplate?: string;
  /** Parsed special_tokens_map.json, used for tokens the config does not mention. */
  specialTokensMap?: unknown;
}

/** Token ids plus, for each, the [start, end) UTF-16 range of the input it came from. */
export interface EncodingWithOffsets {
  ids: number[];
  offsets: [number, number][];
}

interface Parts {
  name: string;
  added: AddedToken[];
  normalizer: Normalizer | null;
  preTokenizer: PreTokenizer | null;
  model: BpeModel;
  post: PostProcessor;
  decoder: Decoder | null;
}

const SPECIAL_KEYS = ['bos', 'eos', 'pad', 'unk'] as const;

export class Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly specialTokens: SpecialTokens;
  readonly chatTemplate?: string;
  /** The added tokens of tokenizer.json (special or not). */
  readonly addedTokens: readonly AddedToken[];

  private readonly normalizer: Normalizer | null;
  private readonly preTokenizer: PreTokenizer | null;
  private readonly model: BpeModel;
  private readonly post: PostProcessor;
  private readonly decoder: Decoder | null;
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly specialContents = new Set<string>();
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normMatcher: AddedTokenMatcher;

  private constructor(parts: Parts, specials: Record<string, string | undefined>, chatTemplate: string | undefined) {
    this.name = parts.name;
    this.normalizer = parts.normalizer;
    this.preTokenizer = parts.preTokenizer;
    this.model = parts.model;
    this.post = parts.post;
    this.decoder = parts.decoder;
    this.addedTokens = parts.added;

    const raw = new Map<string, AddedToken>();
    const norm = new Map<string, AddedToken>();
    let maxId = this.model.idToToken.length - 1;
    for (const t of parts.added) {
      if (!t.content) continue;
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
      if (t.special) this.specialContents.add(t.content);
      if (t.id > maxId) maxId = t.id;
      if (t.normalized && this.normalizer) {
        // matched against its own normalized form, in normalized text
        norm.set(this.normalizer.normalize(piece(t.content, null, false)).s, t);
      } else if (t.normalized) {
        norm.set(t.content, t);
      } else {
        raw.set(t.content, t);
      }
    }
    this.rawMatcher = new AddedTokenMatcher(raw);
    this.normMatcher = new AddedTokenMatcher(norm);
    this.vocabSize = maxId + 1;

    const st: SpecialTokens = {};
    for (const key of SPECIAL_KEYS) {
      const content = specials[key];
      if (content === undefined) continue;
      const id = this.tokenToId(content);
      if (id !== undefined) st[key] = { id, content };
    }
    this.specialTokens = st;
    if (chatTemplate !== undefined) this.chatTemplate = chatTemplate;
  }

  /** Builds a tokenizer from a parsed tokenizer.json; `name` is used in error messages. */
  static fromJson(json: unknown, name = 'tokenizer.json', extras: TokenizerExtras = {}): Tokenizer {
    const r = new JsonReader(name);
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw new InputError(name, 'expected a JSON object (a Hugging Face tokenizer.json)');
    }
    const root = json as Record<string, unknown>;
    if (root['model'] === undefined || root['model'] === null) {
      throw new InputError(name, 'has no "model" (not a Hugging Face tokenizer.json?)', 'model');
    }
    const parts: Parts = {
      name,
      added: readAddedTokens(r, root['added_tokens'], 'added_tokens'),
      normalizer: buildNormalizer(r, root['normalizer'], 'normalizer'),
      preTokenizer: buildPreTokenizer(r, root['pre_tokenizer'], 'pre_tokenizer'),
      model: buildBpe(r, root['model'], 'model'),
      post: buildPostProcessor(r, root['post_processor'], 'post_processor'),
      decoder: buildDecoder(r, root['decoder'], 'decoder'),
    };
    const { specials, chatTemplate } = readConfig(extras);
    return new Tokenizer(parts, specials, chatTemplate);
  }

  /**
   * Loads tokenizer.json, tokenizer_config.json (optional: special tokens, chat template),
   * special_tokens_map.json (optional) and chat_template.jinja (optional) from a model folder.
   */
  static async fromTree(tree: FileTree): Promise<Tokenizer> {
    const src = await tree.open('tokenizer.json');
    if (!src) {
      throw new InputError(`${tree.name}/tokenizer.json`, 'file is missing (a Hugging Face tokenizer.json is required)');
    }
    const json = await readJson(src);
    const extras: TokenizerExtras = {};
    const cfgSrc = await tree.open('tokenizer_config.json');
    if (cfgSrc) {
      const cfg = await readJson(cfgSrc);
      if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) throw new InputError(cfgSrc.name, 'expected a JSON object');
      extras.config = cfg;
      extras.configName = cfgSrc.name;
    }
    const mapSrc = await tree.open('special_tokens_map.json');
    if (mapSrc) extras.specialTokensMap = await readJson(mapSrc);
    const tplSrc = await tree.open('chat_template.jinja');
    if (tplSrc) extras.chatTemplate = await readText(tplSrc);
    return Tokenizer.fromJson(json, src.name, extras);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    this.run(text, ids, null);
    if (!opts.addSpecialTokens || (this.post.before.length === 0 && this.post.after.length === 0)) return ids;
    return [...this.post.before, ...ids, ...this.post.after];
  }

  /** Like encode, with the UTF-16 range of `text` behind every token ([0, 0] for added specials). */
  encodeWithOffsets(text: string, opts: EncodeOptions = {}): EncodingWithOffsets {
    const ids: number[] = [];
    const flat: number[] = [];
    this.run(text, ids, flat);
    const offsets: [number, number][] = new Array(ids.length);
    for (let k = 0; k < ids.length; k++) offsets[k] = [flat[2 * k]!, flat[2 * k + 1]!];
    if (!opts.addSpecialTokens) return { ids, offsets };
    const { before, after } = this.post;
    return {
      ids: [...before, ...ids, ...after],
      offsets: [...before.map((): [number, number] => [0, 0]), ...offsets, ...after.map((): [number, number] => [text.length, text.length])],
    };
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const tokens: string[] = [];
    for (const id of ids) {
      const tok = this.idToToken(id);
      if (tok === undefined) continue;
      if (opts.skipSpecialTokens && this.specialContents.has(tok)) continue;
      tokens.push(tok);
    }
    return this.decoder ? this.decoder.decodeChain(tokens).join('') : tokens.join(' ');
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.model.idToToken[id];
  }

  /** Whether `id` is an added token marked special (skipped by decode with skipSpecialTokens). */
  isSpecialId(id: number): boolean {
    const t = this.idToToken(id);
    return t !== undefined && this.specialContents.has(t);
  }

  /** Renders the chat template with `messages`, `add_generation_prompt` and the special tokens. */
  applyChatTemplate(messages: readonly ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    if (this.chatTemplate === undefined) {
      throw new Error(`${this.name}: this tokenizer has no chat template (no chat_template.jinja and no chat_template in tokenizer_config.json)`);
    }
    const vars: Record<string, unknown> = {};
    for (const key of SPECIAL_KEYS) {
      const t = this.specialTokens[key];
      if (t) vars[`${key}_token`] = t.content;
    }
    return renderChatTemplate(this.chatTemplate, {
      ...vars,
      messages: messages as ChatMessage[],
      add_generation_prompt: !!opts.addGenerationPrompt,
    });
  }

  /** The encoding pipeline; `offs` (flat start/end pairs) is filled when given. */
  private run(text: string, ids: number[], offs: number[] | null): void {
    const segs = this.rawMatcher.split(text);
    for (let k = 0; k < segs.length; k += 3) {
      const a = segs[k]!;
      const b = segs[k + 1]!;
      const id = segs[k + 2]!;
      if (id >= 0) {
        ids.push(id);
        offs?.push(a, b);
        continue;
      }
      let p = piece(a === 0 && b === text.length ? text : text.slice(a, b), offs ? a : null, a === 0);
      if (this.normalizer) p = this.normalizer.normalize(p);
      if (this.normMatcher.empty) {
        this.words(p, ids, offs);
        continue;
      }
      const inner = this.normMatcher.split(p.s);
      for (let j = 0; j < inner.length; j += 3) {
        const c = inner[j]!;
        const d = inner[j + 1]!;
        const nid = inner[j + 2]!;
        if (nid >= 0) {
          ids.push(nid);
          if (offs) pushSpan(offs, p, c, d);
        } else {
          this.words(sub(p, c, d), ids, offs);
        }
      }
    }
  }

  private words(p: Piece, ids: number[], offs: number[] | null): void {
    if (this.preTokenizer) this.preTokenizer.split(p, (q) => this.tokenizeWord(q, ids, offs));
    else this.tokenizeWord(p, ids, offs);
  }

  private tokenizeWord(q: Piece, ids: number[], offs: number[] | null): void {
    const r = this.model.tokenize(q.s);
    const n = r.length / 3;
    for (let k = 0; k < n; k++) ids.push(r[k]!);
    if (offs) for (let k = 0; k < n; k++) pushSpan(offs, q, r[n + k]!, r[2 * n + k]!);
  }

  /** For tests: the BPE model. */
  get bpe(): BpeModel {
    return this.model;
  }
}

function pushSpan(offs: number[], p: Piece, a: number, b: number): void {
  const [s, e] = spanOf(p, a, b);
  offs.push(s, e);
}

function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as Record<string, unknown>)['content'] === 'string') {
    return (value as Record<string, unknown>)['content'] as string;
  }
  return undefined;
}

function readConfig(extras: TokenizerExtras): { specials: Record<string, string | undefined>; chatTemplate: string | undefined } {
  const name = extras.configName ?? 'tokenizer_config.json';
  const cfg = (extras.config ?? {}) as Record<string, unknown>;
  const map = (extras.specialTokensMap && typeof extras.specialTokensMap === 'object' ? extras.specialTokensMap : {}) as Record<string, unknown>;
  const specials: Record<string, string | undefined> = {};
  for (const key of SPECIAL_KEYS) {
    const k = `${key}_token`;
    specials[key] = k in cfg ? tokenContent(cfg[k]) : tokenContent(map[k]);
  }
  let chatTemplate = extras.chatTemplate;
  if (chatTemplate === undefined) {
    const t = cfg['chat_template'];
    if (typeof t === 'string') chatTemplate = t;
    else if (Array.isArray(t)) {
      for (const item of t) {
        if (item === null || typeof item !== 'object') throw new InputError(name, 'expected a list of {name, template}', 'chat_template');
        const o = item as Record<string, unknown>;
        if (o['name'] === 'default' && typeof o['template'] === 'string') chatTemplate = o['template'];
      }
    } else if (t !== undefined && t !== null) {
      throw new InputError(name, 'expected a string or a list of {name, template}', 'chat_template');
    }
  }
  return { specials, chatTemplate };
}
