/**
 * Records → training examples: token ids plus labels aligned with them (-100 where no loss is
 * taken). The next-token shift happens in the model, as in transformers.
 *
 * - text: every token trains; the tokenizer's post-processor (BOS...) applies; EOS is appended.
 * - prompt: prompt and completion are encoded separately (no BPE merge across the boundary) and
 *   concatenated, with the post-processor's tokens around them and EOS after the completion;
 *   only the completion and EOS train (maskPrompt). With `promptAsChat` and a chat template they
 *   become a user/assistant chat instead.
 * - chat: rendered with the chat template (encodeChat); the trained roles' contents and their
 *   end-of-turn markers train. No EOS is appended: the template closes the turn itself.
 * - tokens: as given; absent labels mean labels = input_ids.
 *
 * The first label of every example is -100: nothing before it predicts it, and packed
 * sequences must not learn an example's first token from the previous example (as TRL's
 * DataCollatorWithFlattening does).
 */
import { encodeChat } from './chat-mask.ts';
import { TemplateLimitError } from '../formats/template-budget.ts';
import type { Tokenizer } from '../formats/tokenizer/tokenizer.ts';
import type { ChatMessage, DataRecord, DatasetRecord, RecordProblem, RecordSource } from './records.ts';
import { tokenStats, type TokenStats } from './stats.ts';

export const IGNORE = -100;

export interface Example {
  inputIds: number[];
  labels: number[];
  source: RecordSource;
  /** Set when the example was cut to maxLength. */
  truncated?: boolean;
}

export interface TokenizeOptions {
  maxLength: number;
  /** Loss only on completions / trained roles' turns (default true); false trains on every token. */
  maskPrompt?: boolean;
  /** Render chat records with the tokenizer's chat template (default true; without one, chat records are problems). */
  chatTemplate?: boolean;
  /** Render prompt records as a user/assistant chat when the template is used (default false, as TRL). */
  promptAsChat?: boolean;
  /** Append EOS to text and prompt records so the model learns to stop (default true; skipped without an EOS token). */
  addEos?: boolean;
  /** 'right' (default) keeps the first maxLength tokens; 'drop' leaves out longer examples (as problems). */
  truncation?: 'right' | 'drop';
  /** Roles whose turns train in chat records (default ['assistant']). */
  trainRoles?: readonly string[];
}

export interface TokenizeResult {
  examples: Example[];
  stats: TokenStats;
  problems: RecordProblem[];
  /** Examples left out for being longer than maxLength with truncation 'drop'. */
  dropped: number;
}

export type Encoded = { ok: true; inputIds: number[]; labels: number[] } | { ok: false; reason: string };

/** Tokens the post-processor puts before and after a single sequence (e.g. BOS). */
const affixCache = new WeakMap<Tokenizer, { prefix: number[]; suffix: number[] }>();

function affixes(tok: Tokenizer): { prefix: number[]; suffix: number[] } {
  let a = affixCache.get(tok);
  if (a) return a;
  const plain = tok.encode('a');
  const full = tok.encode('a', { addSpecialTokens: true });
  a = { prefix: [], suffix: [] };
  for (let i = 0; i + plain.length <= full.length; i++) {
    if (plain.every((id, k) => full[i + k] === id)) {
      a = { prefix: full.slice(0, i), suffix: full.slice(i + plain.length) };
      break;
    }
  }
  affixCache.set(tok, a);
  return a;
}

interface Resolved {
  maskPrompt: boolean;
  useTemplate: boolean;
  promptAsChat: boolean;
  eos: number | null;
  trainRoles: readonly string[];
}

function resolve(tok: Tokenizer, opts: TokenizeOptions): Resolved {
  const useTemplate = (opts.chatTemplate ?? true) && tok.chatTemplate !== undefined;
  const eos = tok.specialTokens.eos?.id;
  return {
    maskPrompt: opts.maskPrompt ?? true,
    useTemplate,
    promptAsChat: useTemplate && !!opts.promptAsChat,
    eos: (opts.addEos ?? true) && eos !== undefined ? eos : null,
    trainRoles: opts.trainRoles ?? ['assistant'],
  };
}

/** Ids and labels of one record, before truncation. */
export function encodeRecord(record: DataRecord, tok: Tokenizer, opts: Omit<TokenizeOptions, 'maxLength' | 'truncation'> = {}): Encoded {
  return encodeWith(record, tok, resolve(tok, { maxLength: 0, ...opts }));
}

function encodeWith(record: DataRecord, tok: Tokenizer, r: Resolved): Encoded {
  switch (record.kind) {
    case 'text': {
      const { prefix, suffix } = affixes(tok);
      const body = [...tok.encode(record.text), ...suffix];
      return sequence(prefix, [], body, r);
    }
    case 'prompt': {
      if (r.promptAsChat) {
        return chat([{ role: 'user', content: record.prompt }, { role: 'assistant', content: record.completion }], tok, r);
      }
      const { prefix, suffix } = affixes(tok);
      return sequence(prefix, tok.encode(record.prompt), [...tok.encode(record.completion), ...suffix], r);
    }
    case 'chat':
      if (!r.useTemplate) {
        const why = tok.chatTemplate === undefined ? `the tokenizer ${tok.name} has none` : 'chatTemplate is off';
        return { ok: false, reason: `a chat record needs a chat template and ${why}` };
      }
      return chat(record.messages, tok, r);
    case 'tokens': {
      const ids = [...record.inputIds];
      for (let k = 0; k < ids.length; k++) {
        if (ids[k]! >= tok.vocabSize) return { ok: false, reason: `input_ids[${k}] is ${ids[k]}, outside the vocabulary (${tok.vocabSize})` };
      }
      const labels = record.labels ? [...record.labels] : [...ids];
      for (let k = 0; k < labels.length; k++) {
        if (labels[k]! >= tok.vocabSize) return { ok: false, reason: `labels[${k}] is ${labels[k]}, outside the vocabulary (${tok.vocabSize})` };
      }
      labels[0] = IGNORE;
      return { ok: true, inputIds: ids, labels };
    }
  }
}

/** prefix (never trains) ++ prompt (trains unless masked) ++ body ++ EOS (train). */
function sequence(prefix: number[], prompt: number[], body: number[], r: Resolved): Encoded {
  const ids = [...prefix, ...prompt, ...body];
  if (r.eos !== null && ids[ids.length - 1] !== r.eos) ids.push(r.eos);
  const labels = ids.slice();
  const masked = prefix.length + (r.maskPrompt ? prompt.length : 0);
  for (let k = 0; k < masked; k++) labels[k] = IGNORE;
  if (labels.length) labels[0] = IGNORE;
  return { ok: true, inputIds: ids, labels };
}

function chat(messages: readonly ChatMessage[], tok: Tokenizer, r: Resolved): Encoded {
  let enc;
  try {
    enc = encodeChat(tok, messages, { addGenerationPrompt: false, trainRoles: r.trainRoles });
  } catch (e) {
    // a template past its limits would stop on every record: the whole job stops
    if (e instanceof TemplateLimitError) throw e;
    return { ok: false, reason: (e as Error).message };
  }
  const labels = r.maskPrompt ? enc.ids.map((id, k) => (enc.assistantMask[k] ? id : IGNORE)) : enc.ids.slice();
  if (labels.length) labels[0] = IGNORE;
  return { ok: true, inputIds: enc.ids, labels };
}

function trainable(labels: readonly number[]): number {
  let n = 0;
  for (const l of labels) if (l !== IGNORE) n++;
  return n;
}

/**
 * Tokenizes records. Every record that yields no example is a problem: one that cannot be
 * rendered, one longer than maxLength under 'drop', and one with no trainable token (including
 * one whose trained part was cut off entirely by 'right' truncation: it would only add cost).
 */
export function tokenizeRecords(records: readonly DatasetRecord[], tok: Tokenizer, opts: TokenizeOptions): TokenizeResult {
  if (!Number.isInteger(opts.maxLength) || opts.maxLength < 2) throw new RangeError(`maxLength must be an integer ≥ 2, got ${opts.maxLength}`);
  const r = resolve(tok, opts);
  const truncation = opts.truncation ?? 'right';
  const max = opts.maxLength;
  const examples: Example[] = [];
  const problems: RecordProblem[] = [];
  let truncated = 0;
  let dropped = 0;
  for (const rec of records) {
    const enc = encodeWith(rec.record, tok, r);
    if (!enc.ok) {
      problems.push({ source: rec.source, reason: enc.reason });
      continue;
    }
    let { inputIds, labels } = enc;
    const fullLength = inputIds.length;
    const cut = fullLength > max;
    if (cut && truncation === 'drop') {
      problems.push({ source: rec.source, reason: `is ${fullLength} tokens, longer than maxLength ${max} (truncation 'drop')` });
      dropped++;
      continue;
    }
    if (cut) {
      inputIds = inputIds.slice(0, max);
      labels = labels.slice(0, max);
    }
    if (trainable(labels) === 0) {
      const reason = cut
        ? `no trainable token left after truncation to ${max} of its ${fullLength} tokens (the trained part starts later)`
        : rec.record.kind === 'chat'
          ? `has no trainable token (no turn by ${r.trainRoles.join('/')})`
          : 'has no trainable token';
      problems.push({ source: rec.source, reason });
      continue;
    }
    if (cut) truncated++;
    examples.push(cut ? { inputIds, labels, source: rec.source, truncated: true } : { inputIds, labels, source: rec.source });
  }
  return { examples, stats: tokenStats(examples, truncated), problems, dropped };
}
