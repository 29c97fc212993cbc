/**
 * Preference data in TRL's formats:
 * - paired: {"prompt", "chosen", "rejected"} with strings (standard) or message lists
 *   (conversational), or only "chosen"/"rejected" as whole conversations sharing a prefix
 *   (implicit prompt: the shared prefix is the prompt, as TRL's extract_prompt does);
 * - unpaired (KTO): {"prompt", "completion", "label": true|false}.
 * Every bad row is a problem with its line and reason. Tokenizing reuses the SFT templating and
 * loss masks; only the completion (and its closing EOS / end-of-turn) trains.
 */
import type { ChatMessage } from '../formats/chat-template.ts';
import { encodeChat } from './chat-mask.ts';
import type { Tokenizer } from '../formats/tokenizer/tokenizer.ts';
import { InputError } from '../errors.ts';
import { canonicalJson } from './hash.ts';
import { sha256Hex } from './sha256.ts';
import { detectFormat, parseDelimited, parseJson, parseJsonl, type ParsedRows } from './parsers.ts';
import type { RecordProblem, RecordSource } from './records.ts';
import { encodeRecord, IGNORE } from './tokenize.ts';

/** A prompt or completion: plain text, or chat messages. */
export type Turns = string | readonly ChatMessage[];

export interface PreferencePair {
  readonly prompt: Turns;
  readonly chosen: Turns;
  readonly rejected: Turns;
  readonly source: RecordSource;
}

export interface UnpairedExample {
  readonly prompt: Turns;
  readonly completion: Turns;
  /** true: desirable; false: undesirable. */
  readonly label: boolean;
  readonly source: RecordSource;
}

export interface PreferenceImport {
  /** 'paired' (DPO, ORPO, SimPO) or 'unpaired' (KTO); null when no row could be read. */
  readonly kind: 'paired' | 'unpaired' | null;
  readonly pairs: PreferencePair[];
  readonly unpaired: UnpairedExample[];
  readonly problems: RecordProblem[];
}

const MIXED_COMPLETION = 'prompt and completion must both be strings or both message lists';
/** The reason a pair whose two answers are the same is left out (`data stats` counts them). */
export const IDENTICAL_PAIR = 'chosen and rejected are identical';

type Read<T> = { ok: true; value: T } | { ok: false; reason: string };

function turns(v: unknown, field: string): Read<Turns> {
  if (typeof v === 'string') return v.trim() ? { ok: true, value: v } : { ok: false, reason: `"${field}" is empty` };
  if (!Array.isArray(v)) return { ok: false, reason: `"${field}" must be a string or a list of messages, got ${v === null ? 'null' : typeof v}` };
  for (const [i, m] of v.entries()) {
    const ok = m !== null && typeof m === 'object' && typeof (m as ChatMessage).role === 'string' && typeof (m as ChatMessage).content === 'string';
    if (!ok) return { ok: false, reason: `"${field}"[${i}] must be a message {"role", "content"} with string values` };
  }
  return { ok: true, value: v as ChatMessage[] };
}

const sameMessage = (a: ChatMessage, b: ChatMessage) => a.role === b.role && a.content === b.content;

/** The shared prefix of two conversations (or texts) as the prompt, as TRL's extract_prompt. */
export function extractPrompt(chosen: Turns, rejected: Turns): Read<{ prompt: Turns; chosen: Turns; rejected: Turns }> {
  if (typeof chosen === 'string' && typeof rejected === 'string') {
    let i = 0;
    while (i < Math.min(chosen.length, rejected.length) && chosen[i] === rejected[i]) i++;
    if (i > 0 && i < chosen.length && chosen[i - 1] === ' ') i--;
    if (i === chosen.length && i === rejected.length) return { ok: false, reason: IDENTICAL_PAIR };
    return { ok: true, value: { prompt: chosen.slice(0, i), chosen: chosen.slice(i), rejected: rejected.slice(i) } };
  }
  if (typeof chosen === 'string' || typeof rejected === 'string') return { ok: false, reason: 'chosen and rejected must both be strings or message lists' };
  let i = 0;
  while (i < Math.min(chosen.length, rejected.length) && sameMessage(chosen[i]!, rejected[i]!)) i++;
  if (i === chosen.length && i === rejected.length) return { ok: false, reason: IDENTICAL_PAIR };
  if (i === chosen.length || i === rejected.length) return { ok: false, reason: 'chosen and rejected must differ after their shared prompt' };
  return { ok: true, value: { prompt: chosen.slice(0, i), chosen: chosen.slice(i), rejected: rejected.slice(i) } };
}

function readPair(v: Record<string, unknown>): Read<Omit<PreferencePair, 'source'>> {
  const c = turns(v.chosen, 'chosen');
  if (!c.ok) return c;
  const r = turns(v.rejected, 'rejected');
  if (!r.ok) return r;
  if (!('prompt' in v)) return extractPrompt(c.value, r.value);
  const p = turns(v.prompt, 'prompt');
  if (!p.ok) return p;
  const chat = typeof p.value !== 'string';
  if ((typeof c.value !== 'string') !== chat || (typeof r.value !== 'string') !== chat) {
    return { ok: false, reason: 'prompt, chosen and rejected must all be strings or all message lists' };
  }
  if (JSON.stringify(c.value) === JSON.stringify(r.value)) return { ok: false, reason: IDENTICAL_PAIR };
  return { ok: true, value: { prompt: p.value, chosen: c.value, rejected: r.value } };
}

function readUnpaired(v: Record<string, unknown>): Read<Omit<UnpairedExample, 'source'>> {
  if (typeof v.label !== 'boolean') return { ok: false, reason: `"label" must be true or false, got ${JSON.stringify(v.label) ?? 'nothing'}` };
  const p = turns(v.prompt, 'prompt');
  if (!p.ok) return p;
  const c = turns(v.completion, 'completion');
  if (!c.ok) return c;
  if ((typeof p.value === 'string') !== (typeof c.value === 'string')) return { ok: false, reason: MIXED_COMPLETION };
  return { ok: true, value: { prompt: p.value, completion: c.value, label: v.label } };
}

/** Reads a preference file (JSONL, JSON, CSV/TSV). Throws InputError only when the file cannot be read at all. */
export function parsePreferenceDataset(name: string, text: string): PreferenceImport {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const format = detectFormat(name, text);
  if (format === 'text') throw new InputError(name, 'preference data must be JSONL, JSON or CSV with prompt/chosen/rejected (or prompt/completion/label)');
  const parsed: ParsedRows =
    format === 'jsonl' ? parseJsonl(name, text) : format === 'json' ? parseJson(name, text) : parseDelimited(name, text, format === 'tsv' ? '\t' : ',');
  const pairs: PreferencePair[] = [];
  const unpaired: UnpairedExample[] = [];
  const problems = [...parsed.problems];
  let kind: PreferenceImport['kind'] = null;
  for (const row of parsed.rows) {
    const source = { file: name, line: row.line };
    const v = format === 'csv' || format === 'tsv' ? withCsvLabel(row.value) : row.value;
    const rowKind = 'chosen' in v || 'rejected' in v ? 'paired' : 'label' in v || 'completion' in v ? 'unpaired' : null;
    if (rowKind === null) {
      problems.push({ source, reason: 'has neither "chosen"/"rejected" (preference pair) nor "completion"/"label" (KTO example)' });
      continue;
    }
    kind ??= rowKind;
    if (rowKind !== kind) {
      const what = rowKind === 'paired' ? 'a paired' : 'an unpaired (KTO)';
      problems.push({ source, reason: `is ${what} row in a file of ${kind} rows (keep pairs and KTO examples in separate files)` });
      continue;
    }
    const r = rowKind === 'paired' ? readPair(v) : readUnpaired(v);
    if (!r.ok) problems.push({ source, reason: r.reason });
    else if (rowKind === 'paired') pairs.push({ ...(r.value as Omit<PreferencePair, 'source'>), source });
    else unpaired.push({ ...(r.value as Omit<UnpairedExample, 'source'>), source });
  }
  problems.sort((a, b) => a.source.line - b.source.line);
  return { kind, pairs, unpaired, problems };
}

/** CSV cells are text: "true"/"false" labels become booleans. */
function withCsvLabel(v: Record<string, unknown>): Record<string, unknown> {
  if (typeof v.label !== 'string') return v;
  const l = v.label.trim().toLowerCase();
  return { ...v, label: l === 'true' ? true : l === 'false' ? false : v.label };
}

export interface EncodedCompletion {
  readonly inputIds: number[];
  /** -100 on the prompt; the completion's ids (and its EOS / end-of-turn) elsewhere. */
  readonly labels: number[];
}

/**
 * Prompt + completion → ids and labels, the completion alone trained. Text uses the SFT prompt
 * encoding (post-processor tokens, EOS appended); messages use the chat template, and only the
 * completion's assistant turns train (not assistant turns inside a multi-turn prompt).
 */
export function encodeCompletion(prompt: Turns, completion: Turns, tok: Tokenizer): Read<EncodedCompletion> {
  if (typeof prompt === 'string' && typeof completion === 'string') {
    const enc = encodeRecord({ kind: 'prompt', prompt, completion }, tok, { maskPrompt: true, promptAsChat: false });
    return enc.ok ? { ok: true, value: { inputIds: enc.inputIds, labels: enc.labels } } : enc;
  }
  if (typeof prompt === 'string' || typeof completion === 'string') return { ok: false, reason: MIXED_COMPLETION };
  if (tok.chatTemplate === undefined) return { ok: false, reason: `conversational preference data needs a chat template; the tokenizer ${tok.name} has none` };
  let enc;
  try {
    enc = encodeChat(tok, [...prompt, ...completion], { addGenerationPrompt: false });
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  let trained = enc.assistantMask;
  if (prompt.some((m) => m.role === 'assistant')) {
    // Assistant turns of the prompt are context, not the completion being judged.
    const cut = enc.spans.find((s) => s.index >= prompt.length)?.start ?? enc.text.length;
    const { offsets } = tok.encodeWithOffsets(enc.text);
    trained = trained.map((t, k) => t && offsets[k]![0] >= cut);
  }
  const labels = enc.ids.map((id, k) => (trained[k] && k > 0 ? id : IGNORE));
  return { ok: true, value: { inputIds: enc.ids, labels } };
}

/** Cuts to maxLength (keeping the start); null when no trained token is left. */
export function truncateCompletion(e: EncodedCompletion, maxLength: number): EncodedCompletion | null {
  const labels = e.labels.slice(0, maxLength);
  if (!labels.some((l) => l !== IGNORE)) return null;
  return { inputIds: e.inputIds.slice(0, maxLength), labels };
}

export interface TokenizedPreferences {
  /** Pairs as [chosen, rejected] rows; unpaired examples as single rows with their labels. */
  readonly pairs: { chosen: EncodedCompletion; rejected: EncodedCompletion; source: RecordSource }[];
  readonly unpaired: { completion: EncodedCompletion; label: boolean; source: RecordSource }[];
  readonly problems: RecordProblem[];
}

/** Tokenizes pairs and KTO examples; a pair whose either side cannot be used is a problem. */
export function tokenizePreferences(data: Pick<PreferenceImport, 'pairs' | 'unpaired'>, tok: Tokenizer, maxLength: number): TokenizedPreferences {
  const problems: RecordProblem[] = [];
  const one = (prompt: Turns, completion: Turns, what: string, source: RecordSource): EncodedCompletion | null => {
    const enc = encodeCompletion(prompt, completion, tok);
    if (!enc.ok) {
      problems.push({ source, reason: `${what}: ${enc.reason}` });
      return null;
    }
    const cut = truncateCompletion(enc.value, maxLength);
    if (!cut) problems.push({ source, reason: `${what}: the prompt leaves no completion token within the ${maxLength}-token limit` });
    return cut;
  };
  const pairs: TokenizedPreferences['pairs'] = [];
  for (const p of data.pairs) {
    const chosen = one(p.prompt, p.chosen, 'chosen', p.source);
    const rejected = one(p.prompt, p.rejected, 'rejected', p.source);
    if (chosen && rejected) pairs.push({ chosen, rejected, source: p.source });
  }
  const unpaired: TokenizedPreferences['unpaired'] = [];
  for (const u of data.unpaired) {
    const completion = one(u.prompt, u.completion, 'completion', u.source);
    if (completion) unpaired.push({ completion, label: u.label, source: u.source });
  }
  return { pairs, unpaired, problems };
}

/** SHA-256 of what training sees of preference data (prompt, chosen, rejected / completion, label), in order. */
export function preferenceDatasetHash(data: Pick<PreferenceImport, 'pairs' | 'unpaired'>): Promise<string> {
  const enc = new TextEncoder();
  const lines: Uint8Array[] = [];
  for (const { source: _, ...p } of data.pairs) lines.push(enc.encode(canonicalJson(p) + '\n'));
  for (const { source: _, ...u } of data.unpaired) lines.push(enc.encode(canonicalJson(u) + '\n'));
  return sha256Hex(lines);
}
