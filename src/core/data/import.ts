/**
 * Dataset import: a file's text (or bytes) → records in the normalised union, plus a problem for
 * every row that could not be read. Nothing is dropped without a reason.
 */
import { InputError } from '../errors.ts';
import { RowReader, type AlpacaAs, type ColumnMapping } from './formats.ts';
import { detectFormat, parseDelimited, parseJson, parseJsonl, splitText, type FileFormat, type ParsedRows, type TextMode } from './parsers.ts';
import type { DatasetRecord, RecordKind, RecordProblem } from './records.ts';

export type { AlpacaAs, ColumnMapping } from './formats.ts';
export type { FileFormat, TextMode } from './parsers.ts';

export interface ImportOptions {
  /** File type; 'auto' (default) goes by the extension, then the content. */
  format?: FileFormat | 'auto';
  /** The user's field names for the known fields. */
  columns?: ColumnMapping;
  /** How plain text becomes records (default 'lines'). */
  textMode?: TextMode;
  /** Alpaca rows as prompt/completion with the Alpaca prompt text (default) or as a user/assistant chat. */
  alpacaAs?: AlpacaAs;
}

export interface ImportResult {
  records: DatasetRecord[];
  problems: RecordProblem[];
  format: FileFormat;
  /** The most common record kind; null when nothing imported. */
  detected: RecordKind | null;
  /** Records of each kind. */
  kinds: Record<RecordKind, number>;
  /** Field names of the file (CSV header, JSON keys in order first seen). */
  columns: string[];
}

/** Reads a dataset file. Throws InputError only when the file as a whole cannot be read. */
export function parseDataset(name: string, input: string | Uint8Array, opts: ImportOptions = {}): ImportResult {
  let text = typeof input === 'string' ? input : decodeUtf8(name, input);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const format = !opts.format || opts.format === 'auto' ? detectFormat(name, text) : opts.format;
  const kinds: Record<RecordKind, number> = { text: 0, prompt: 0, chat: 0, tokens: 0 };
  const records: DatasetRecord[] = [];

  if (format === 'text') {
    for (const chunk of splitText(text, opts.textMode ?? 'lines')) {
      records.push({ record: { kind: 'text', text: chunk.text }, source: { file: name, line: chunk.line } });
    }
    kinds.text = records.length;
    return { records, problems: [], format, detected: records.length ? 'text' : null, kinds, columns: [] };
  }

  const parsed: ParsedRows =
    format === 'jsonl' ? parseJsonl(name, text) : format === 'json' ? parseJson(name, text) : parseDelimited(name, text, format === 'tsv' ? '\t' : ',');
  const problems = parsed.problems;
  const reader = new RowReader({ ...(opts.columns && { columns: opts.columns }), ...(opts.alpacaAs && { alpacaAs: opts.alpacaAs }) });
  for (const row of parsed.rows) {
    const r = reader.read(row.value);
    const source = { file: name, line: row.line };
    if (!r.ok) {
      problems.push({ source, reason: r.reason });
      continue;
    }
    kinds[r.value.record.kind]++;
    records.push(r.value.fields ? { record: r.value.record, source, fields: r.value.fields } : { record: r.value.record, source });
  }
  problems.sort((a, b) => a.source.line - b.source.line);
  return { records, problems, format, detected: mostCommon(kinds), kinds, columns: parsed.columns };
}

function mostCommon(kinds: Record<RecordKind, number>): RecordKind | null {
  let best: RecordKind | null = null;
  for (const k of Object.keys(kinds) as RecordKind[]) if (kinds[k] > 0 && (best === null || kinds[k] > kinds[best])) best = k;
  return best;
}

function decodeUtf8(name: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(name, 'is not UTF-8 text (save it as UTF-8 and try again)');
  }
}
