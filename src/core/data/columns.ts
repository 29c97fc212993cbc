/**
 * Which columns hold the known fields: the user's mapping (`prompt=question,completion=answer`),
 * or, without one, the common names datasets use for them, recognised without any mapping.
 */
import type { ColumnMapping, KnownField } from './formats.ts';
import type { Checked } from './messages.ts';

export const KNOWN_FIELDS: readonly KnownField[] = [
  'text', 'prompt', 'completion', 'instruction', 'input', 'output', 'messages', 'conversations', 'input_ids', 'labels',
];

/** Parses `field=column` pairs, e.g. `["prompt=question", "completion=answer"]`. */
export function parseColumnMapping(pairs: readonly string[]): Checked<ColumnMapping> {
  const out: ColumnMapping = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const field = pair.slice(0, eq).trim() as KnownField;
    const column = pair.slice(eq + 1).trim();
    if (eq < 0 || column === '') return { ok: false, reason: `"${pair}" is not FIELD=COLUMN (e.g. prompt=question)` };
    if (!KNOWN_FIELDS.includes(field)) return { ok: false, reason: `"${field}" is not a known field; expected one of ${KNOWN_FIELDS.join(', ')}` };
    if (out[field] !== undefined) return { ok: false, reason: `"${field}" is mapped twice` };
    out[field] = column;
  }
  return { ok: true, value: out };
}

/** Column names for a prompt and for its answer, most specific first (matched ignoring case). */
const PROMPT_NAMES = ['prompt', 'question', 'query', 'input'];
const ANSWER_NAMES = ['completion', 'answer', 'response', 'output'];
/** Record shapes that need no mapping when their columns are spelled exactly. */
const EXACT_SHAPES: readonly (readonly string[])[] = [
  ['input_ids'], ['messages'], ['conversations'], ['instruction', 'output'], ['prompt', 'completion'], ['text'],
];

export interface RecognisedColumns {
  readonly mapping: ColumnMapping;
  /** For people: `prompt=question, completion=answer`. */
  readonly description: string;
}

/**
 * A mapping for a file whose columns are not the known names but common ones: question/answer,
 * input/output, instruction/response (Alpaca, with context as its input), prompt/response, and
 * the known names in other letter case. Null when the file needs none or nothing fits.
 */
export function recogniseColumns(columns: readonly string[]): RecognisedColumns | null {
  if (EXACT_SHAPES.some((shape) => shape.every((c) => columns.includes(c)))) return null;
  const byLower = new Map<string, string>();
  for (const c of columns) if (!byLower.has(c.trim().toLowerCase())) byLower.set(c.trim().toLowerCase(), c);
  const find = (names: readonly string[]) => names.map((n) => byLower.get(n)).find((c) => c !== undefined);
  let mapping: ColumnMapping | null = null;
  const instruction = byLower.get('instruction');
  const answer = find(ANSWER_NAMES);
  const messages = find(['messages', 'conversations']);
  if (byLower.get('input_ids')) mapping = { input_ids: byLower.get('input_ids')!, ...(byLower.get('labels') && { labels: byLower.get('labels')! }) };
  else if (messages) mapping = { messages };
  else if (instruction && answer) {
    const input = find(['input', 'context']);
    mapping = { instruction, output: answer, ...(input && { input }) };
  } else {
    const prompt = find(PROMPT_NAMES);
    if (prompt && answer) mapping = { prompt, completion: answer };
    else if (byLower.get('text')) mapping = { text: byLower.get('text')! };
  }
  if (!mapping) return null;
  const description = Object.entries(mapping).map(([field, column]) => `${field}=${column}`).join(', ');
  return { mapping, description };
}
