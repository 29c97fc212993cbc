/**
 * GRPO prompt data as TRL reads it: records with a "prompt" (text, or chat messages), the other
 * columns passed to the reward functions. A chat record {"messages": [...]} also works: the
 * turns before its last assistant turn are the prompt (so an SFT file is a GRPO prompt file,
 * its answers a column the rewards can check). Bad rows are problems with line and reason.
 */
import type { ChatMessage } from '../formats/chat-template.ts';
import { InputError } from '../errors.ts';
import { detectFormat, parseJson, parseJsonl, type ParsedRows } from './parsers.ts';
import type { RecordProblem, RecordSource } from './records.ts';

export interface GrpoRecord {
  readonly prompt: string | readonly ChatMessage[];
  /** The record's other columns (for a chat record: "answer" = its last assistant turn, unless given). */
  readonly fields: Readonly<Record<string, unknown>>;
  readonly source: RecordSource;
}

const isMessage = (m: unknown): m is ChatMessage =>
  m !== null && typeof m === 'object' && typeof (m as ChatMessage).role === 'string' && typeof (m as ChatMessage).content === 'string';

function readRecord(v: Record<string, unknown>): { ok: true; value: Omit<GrpoRecord, 'source'> } | { ok: false; reason: string } {
  const { prompt, messages, ...rest } = v;
  if (prompt !== undefined) {
    if (typeof prompt === 'string') return prompt.trim() ? { ok: true, value: { prompt, fields: rest } } : { ok: false, reason: '"prompt" is empty' };
    if (Array.isArray(prompt) && prompt.length > 0 && prompt.every(isMessage)) return { ok: true, value: { prompt, fields: rest } };
    return { ok: false, reason: '"prompt" must be a string or a non-empty list of {"role", "content"} messages' };
  }
  if (!Array.isArray(messages) || !messages.every(isMessage)) return { ok: false, reason: 'has no "prompt" (or "messages" list of {"role", "content"})' };
  const last = messages.length - 1;
  const cut = messages[last]?.role === 'assistant' ? last : messages.length;
  if (cut === 0) return { ok: false, reason: '"messages" has no turn before its answer' };
  const fields = cut === last ? { answer: messages[last]!.content, ...rest } : rest;
  return { ok: true, value: { prompt: messages.slice(0, cut), fields } };
}

/** Reads a GRPO prompt file (JSONL or JSON). Throws InputError only when the file cannot be read at all. */
export function parseGrpoPrompts(name: string, text: string): { records: GrpoRecord[]; problems: RecordProblem[] } {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const format = detectFormat(name, text);
  if (format !== 'jsonl' && format !== 'json') throw new InputError(name, 'GRPO prompts must be JSONL or JSON records with a "prompt"');
  const parsed: ParsedRows = format === 'jsonl' ? parseJsonl(name, text) : parseJson(name, text);
  const records: GrpoRecord[] = [];
  const problems = [...parsed.problems];
  for (const row of parsed.rows) {
    const r = readRecord(row.value);
    if (r.ok) records.push({ ...r.value, source: { file: name, line: row.line } });
    else problems.push({ source: { file: name, line: row.line }, reason: r.reason });
  }
  return { records, problems };
}

/** The text a reward function sees as the prompt: the string, or the last message's content. */
export function promptText(prompt: GrpoRecord['prompt']): string {
  return typeof prompt === 'string' ? prompt : prompt[prompt.length - 1]!.content;
}
