/**
 * Dataset import: a file's text (or bytes) → records in the normalised union, plus a problem for
 * every row that could not be read. Nothing is dropped without a reason.
 */
import { InputError } from '../errors.ts';
import { recogniseColumns, type RecognisedColumns } from './columns.ts';
import { RowReader, type AlpacaAs, type ColumnMapping } from './formats.ts';
import { detectFormat, parseDelimited, parseJson, parseJsonl, splitText, type FileFormat, type ParsedRows, type TextMode } from './parsers.ts';
import { count, MAX_RECORD_CHARS, oversizeReason, textSize } from './record-size.ts';
import type { DatasetRecord, RecordKind, RecordProblem } from './records.ts';

export type { AlpacaAs, ColumnMapping } from './formats.ts';
export type { RecognisedColumns } from './columns.ts';
export type { FileFormat, TextMode } from './parsers.ts';

export interface ImportOptions {
  /** File type; 'auto' (default) goes by the extension, then the content. */
  format?: FileFormat | 'auto';
  /** The user's field names for the known fields; without them common names are recognised (columns.ts). */
  columns?: ColumnMapping;
  /** How plain text becomes records (default 'lines'). */
  textMode?: TextMode;
  /** Alpaca rows as prompt/completion with the Alpaca prompt text (default) or as a user/assistant chat. */
  alpacaAs?: AlpacaAs;
  /** Leave out conversations that break the import rule (chat-rules.ts); false keeps them for `data prepare` to repair. */
  chatRules?: boolean;
  /** Characters one record may hold (default MAX_RECORD_CHARS). */
  maxRecordChars?: number;
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
  /** The columns recognised by their common names when no mapping was given (e.g. prompt=question). */
  recognised: RecognisedColumns | null;
}

/**
 * Imports a dataset file as the CLI and the app do: like parseDataset, and a file with no usable
 * record is an InputError naming the file and the first problem, never an empty import.
 */
export function importDataset(name: string, input: string | Uint8Array, opts: ImportOptions = {}): ImportResult {
  return requireRecords(name, parseDataset(name, input, opts));
}

/** The result, when it holds a record; else an InputError naming the file and the first problem. */
function requireRecords(name: string, r: ImportResult): ImportResult {
  if (r.detected === null) throw noRecords(name, r.problems, r.format === 'text' ? 'has no text' : 'has no records');
  return r;
}

/** Reads a dataset file. Throws InputError only when the file as a whole cannot be read. */
export function parseDataset(name: string, input: string | Uint8Array, opts: ImportOptions = {}): ImportResult {
  const maxChars = opts.maxRecordChars ?? MAX_RECORD_CHARS;
  const format = !opts.format || opts.format === 'auto' ? fileFormat(name, input) : opts.format;
  const kinds: Record<RecordKind, number> = { text: 0, prompt: 0, chat: 0, tokens: 0 };
  const records: DatasetRecord[] = [];

  if (format === 'text') {
    const problems: RecordProblem[] = [];
    for (const chunk of splitText(wholeText(name, input), opts.textMode ?? 'lines')) {
      const source = { file: name, line: chunk.line };
      if (chunk.text.length > maxChars) problems.push({ source, reason: oversizeReason(`${count(chunk.text.length)} characters`, maxChars) });
      else records.push({ record: { kind: 'text', text: chunk.text }, source });
    }
    kinds.text = records.length;
    return { records, problems, format, detected: records.length ? 'text' : null, kinds, columns: [], recognised: null };
  }

  const parsed = parseRows(name, input, format, maxChars);
  const problems = parsed.problems;
  const recognised = opts.columns && Object.keys(opts.columns).length ? null : recogniseColumns(parsed.columns);
  const columns = recognised?.mapping ?? opts.columns;
  const reader = new RowReader({ ...(columns && { columns }), ...(opts.alpacaAs && { alpacaAs: opts.alpacaAs }), chatRules: opts.chatRules !== false });
  for (const row of parsed.rows) {
    const source = { file: name, line: row.line };
    // JSONL lines were measured before parsing
    const size = format === 'jsonl' ? 0 : textSize(row.value, maxChars);
    if (size > maxChars) {
      problems.push({ source, reason: oversizeReason(`over ${count(maxChars)} characters`, maxChars) });
      continue;
    }
    const r = reader.read(row.value);
    if (!r.ok) {
      problems.push({ source, reason: r.reason });
      continue;
    }
    kinds[r.value.record.kind]++;
    records.push(r.value.fields ? { record: r.value.record, source, fields: r.value.fields } : { record: r.value.record, source });
  }
  problems.sort((a, b) => a.source.line - b.source.line);
  return { records, problems, format, detected: mostCommon(kinds), kinds, columns: parsed.columns, recognised };
}

/**
 * A table's rows as they are (CSV header names, JSON keys), not records: what templates fill in.
 * Rows that cannot be read are problems; a table with no row is an InputError.
 */
export function readTable(name: string, input: string | Uint8Array): ParsedRows {
  const format = fileFormat(name, input);
  const parsed = parseRows(name, input, format === 'text' ? 'csv' : format, MAX_RECORD_CHARS);
  if (!parsed.rows.length) throw noRecords(name, parsed.problems, 'has no rows');
  return parsed;
}

/** Enough of the start of a file to tell its type (a .json file is read whole: it may be JSONL with a long first line). */
const HEAD_CHARS = 64 * 1024;

function fileFormat(name: string, input: string | Uint8Array): FileFormat {
  const head = typeof input === 'string' ? input : new TextDecoder().decode(/\.json$/i.test(name) ? input : input.subarray(0, HEAD_CHARS));
  return detectFormat(name, head.replace(/^\uFEFF/, ''));
}

/** The rows of a file that is not plain text. JSONL bytes are decoded line by line, the others whole. */
function parseRows(name: string, input: string | Uint8Array, format: Exclude<FileFormat, 'text'>, maxChars: number): ParsedRows {
  if (format === 'jsonl') return parseJsonl(name, input, maxChars);
  const text = wholeText(name, input);
  return format === 'json' ? parseJson(name, text) : parseDelimited(name, text, format === 'tsv' ? '\t' : ',');
}

/** Nothing usable: an error naming the file, with the first problem's line and reason. */
function noRecords(name: string, problems: readonly RecordProblem[], empty: string): InputError {
  if (!problems.length) return new InputError(name, `${empty}; nothing to import`);
  const first = problems[0]!;
  return new InputError(name, `no usable records: all ${problems.length} were left out (the first: line ${first.source.line}: ${first.reason})`);
}

function mostCommon(kinds: Record<RecordKind, number>): RecordKind | null {
  let best: RecordKind | null = null;
  for (const k of Object.keys(kinds) as RecordKind[]) if (kinds[k] > 0 && (best === null || kinds[k] > kinds[best])) best = k;
  return best;
}

/** The whole file as text, without a byte order mark. */
function wholeText(name: string, input: string | Uint8Array): string {
  const text = typeof input === 'string' ? input : decodeUtf8(name, input);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function decodeUtf8(name: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(name, 'is not UTF-8 text (save it as UTF-8 and try again)');
  }
}
