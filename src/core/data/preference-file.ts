/**
 * Preference files as rows: which rows of a file are TRL preference or KTO records, each with
 * the fields training reads (prompt, chosen, rejected / completion, label) and the row's other
 * columns, so the data commands can report, clean and write them back in the same format.
 */
import { detectFormat, parseDelimited, parseJson, parseJsonl, type ParsedRows } from './parsers.ts';
import { parsePreferenceDataset, type PreferenceImport, type PreferencePair, type Turns, type UnpairedExample } from './preference.ts';

/** The fields of a record that training reads; the rest are the row's own columns. */
const TRAINED_FIELDS = ['prompt', 'chosen', 'rejected', 'completion', 'label'];

export interface PreferenceFileRow {
  readonly line: number;
  /** The record as training reads it (an implicit prompt made explicit). */
  readonly example: PreferencePair | UnpairedExample;
  /** The row's other columns (ids, scores, sources), kept as they are. */
  readonly extra: Readonly<Record<string, unknown>>;
}

export interface PreferenceFile extends PreferenceImport {
  readonly rows: PreferenceFileRow[];
}

function parseRows(name: string, text: string): ParsedRows | null {
  const format = detectFormat(name, text);
  if (format === 'text') return null;
  if (format === 'jsonl') return parseJsonl(name, text);
  if (format === 'json') return parseJson(name, text);
  return parseDelimited(name, text, format === 'tsv' ? '\t' : ',');
}

/**
 * Whether a file holds preference data: its first readable row has "chosen"/"rejected", or both
 * "completion" and "label" (KTO). SFT's prompt/completion records have no label.
 */
export function isPreferenceData(name: string, text: string): boolean {
  let parsed: ParsedRows | null;
  try {
    parsed = parseRows(name, text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return false;
  }
  const first = parsed?.rows[0]?.value;
  if (!first) return false;
  return 'chosen' in first || 'rejected' in first || ('completion' in first && 'label' in first);
}

/** Reads a preference file with each usable row's line and other columns. */
export function readPreferenceFile(name: string, text: string): PreferenceFile {
  const data = parsePreferenceDataset(name, text);
  const raw = new Map((parseRows(name, text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)?.rows ?? []).map((r) => [r.line, r.value]));
  const extraOf = (line: number) => Object.fromEntries(Object.entries(raw.get(line) ?? {}).filter(([k]) => !TRAINED_FIELDS.includes(k)));
  const rows: PreferenceFileRow[] = [...data.pairs, ...data.unpaired]
    .map((example) => ({ line: example.source.line, example, extra: extraOf(example.source.line) }))
    .sort((a, b) => a.line - b.line);
  return { ...data, rows };
}

/** A row as a TRL record again: its columns, then the trained fields (an implicit prompt written out). */
export function preferenceRecord(row: PreferenceFileRow): Record<string, unknown> {
  const e = row.example;
  const fields = 'chosen' in e
    ? { prompt: e.prompt, chosen: e.chosen, rejected: e.rejected }
    : { prompt: e.prompt, completion: e.completion, label: e.label };
  return { ...row.extra, ...fields };
}

/** The text of a prompt or completion: a string, or its messages' contents, one per line. */
export function turnsText(t: Turns): string {
  return typeof t === 'string' ? t : t.map((m) => m.content).join('\n');
}
