/**
 * File types: JSONL, JSON, CSV/TSV and plain text, each split into rows that remember the line
 * they start on. What a row means (its record format) is decided in formats.ts.
 */
import Papa from 'papaparse';
import { InputError } from '../errors.ts';
import { typeName } from './messages.ts';
import { jsonlLines } from './lines.ts';
import { MAX_RECORD_CHARS } from './record-size.ts';
import type { RecordProblem } from './records.ts';

export type FileFormat = 'jsonl' | 'json' | 'csv' | 'tsv' | 'text';
export type TextMode = 'lines' | 'paragraphs' | 'document';

export interface Row {
  line: number;
  value: Record<string, unknown>;
}

export interface ParsedRows {
  rows: Row[];
  problems: RecordProblem[];
  /** Field names in the order first seen. */
  columns: string[];
}

export interface TextChunk {
  line: number;
  text: string;
}

const EXTENSIONS: Readonly<Record<string, FileFormat>> = {
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  json: 'json',
  csv: 'csv',
  tsv: 'tsv',
  tab: 'tsv',
  txt: 'text',
  text: 'text',
  md: 'text',
};

/** The file type from the name's extension, else from the content. */
export function detectFormat(name: string, text: string): FileFormat {
  const ext = /\.([A-Za-z]+)$/.exec(name)?.[1]?.toLowerCase();
  const byName = ext !== undefined ? EXTENSIONS[ext] : undefined;
  if (byName === 'json') return looksLikeJsonl(text) ? 'jsonl' : 'json';
  if (byName) return byName;
  const head = text.trimStart();
  if (head.startsWith('[')) return 'json';
  if (head.startsWith('{')) return looksLikeJsonl(text) ? 'jsonl' : 'json';
  // a header of column names, and a next line with as many separators
  const [first = '', second = ''] = text.trimStart().split(/\r?\n/, 2);
  for (const [sep, format] of [
    ['\t', 'tsv'],
    [',', 'csv'],
  ] as const) {
    const cells = first.split(sep);
    if (cells.length > 1 && second.split(sep).length === cells.length && cells.every((c) => HEADER_NAME.test(c))) return format;
  }
  return 'text';
}

const HEADER_NAME = /^\s*"?[\p{L}\p{N}_\- ]{1,64}"?\s*$/u;

/**
 * JSONL when the first line is a whole JSON object and more lines follow, or when the only line
 * is an object that does not wrap a records array.
 */
function looksLikeJsonl(text: string): boolean {
  const lines = text.trim().split('\n', 3);
  try {
    const v: unknown = JSON.parse(lines[0]!);
    if (!isObject(v)) return false;
    return lines.length > 1 || !WRAPPER_KEYS.some((k) => Array.isArray(v[k]));
  } catch {
    return false;
  }
}

function noteColumns(seen: Set<string>, columns: string[], obj: Record<string, unknown>): void {
  for (const k of Object.keys(obj)) {
    if (!seen.has(k)) {
      seen.add(k);
      columns.push(k);
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * One JSON object per line; blank lines are skipped. Bytes are decoded line by line, so a line
 * that is not UTF-8 is reported on its own and the others import; a line over `maxChars` is
 * reported without being decoded or parsed.
 */
export function parseJsonl(file: string, input: string | Uint8Array, maxChars = MAX_RECORD_CHARS): ParsedRows {
  const rows: Row[] = [];
  const problems: RecordProblem[] = [];
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const l of jsonlLines(input, maxChars)) {
    const source = { file, line: l.line };
    if (typeof l.text !== 'string') {
      problems.push({ source, reason: l.text.problem });
      continue;
    }
    if (l.text.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(l.text);
    } catch (e) {
      problems.push({ source, reason: `not valid JSON: ${(e as Error).message}` });
      continue;
    }
    if (!isObject(v)) {
      problems.push({ source, reason: `expected a JSON object, got ${typeName(v)}` });
      continue;
    }
    if (columns.length < 256) noteColumns(seen, columns, v);
    rows.push({ line: l.line, value: v });
  }
  return { rows, problems, columns };
}

const WRAPPER_KEYS = ['data', 'train', 'rows'] as const;

/** A JSON array of objects, or an object holding one under "data", "train" or "rows". */
export function parseJson(file: string, text: string): ParsedRows {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new InputError(file, `not valid JSON: ${(e as Error).message}`);
  }
  let items: unknown[];
  let key: string | null = null;
  if (Array.isArray(root)) items = root;
  else if (isObject(root) && (key = WRAPPER_KEYS.find((k) => Array.isArray(root[k])) ?? null) !== null) items = root[key] as unknown[];
  else {
    throw new InputError(file, `expected a JSON array of records, or an object with a "data", "train" or "rows" array; got ${typeName(root)}`);
  }
  const lines = itemLines(text, key);
  const rows: Row[] = [];
  const problems: RecordProblem[] = [];
  const columns: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < items.length; i++) {
    const v = items[i];
    const line = lines[i] ?? i + 1;
    if (!isObject(v)) {
      problems.push({ source: { file, line }, reason: `item ${i + 1}: expected a JSON object, got ${typeName(v)}` });
      continue;
    }
    if (columns.length < 256) noteColumns(seen, columns, v);
    rows.push({ line, value: v });
  }
  return { rows, problems, columns };
}

/**
 * The line each item of the records array starts on: the root array's items, or those of the
 * array under `key` in the root object. `text` is known to be valid JSON.
 */
function itemLines(text: string, key: string | null): number[] {
  const out: number[] = [];
  const targetDepth = key === null ? 1 : 2;
  let line = 1;
  let depth = 0;
  let inTarget = key === null;
  let expectItem = false;
  let lastKey: string | null = null;
  let keyStart = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      continue;
    }
    if (c === 32 || c === 9 || c === 13) continue;
    if (expectItem && c !== 93 /* ] */) {
      out.push(line);
      expectItem = false;
    }
    if (c === 34 /* " */) {
      const start = i;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
      if (depth === 1 && key !== null) keyStart = start;
      if (keyStart === start) lastKey = text.slice(start + 1, i);
      continue;
    }
    if (c === 91 /* [ */ || c === 123 /* { */) {
      depth++;
      if (c === 91 && depth === 2 && key !== null) inTarget = lastKey === key;
      if (c === 91 && depth === targetDepth && inTarget) expectItem = true;
    } else if (c === 93 || c === 125) {
      if (depth === targetDepth && inTarget && key !== null) inTarget = false;
      depth--;
    } else if (c === 44 /* , */ && depth === targetDepth && inTarget) {
      expectItem = true;
    }
  }
  return out;
}

/**
 * CSV or TSV with a header row; quoted fields may hold newlines. A row whose quote is never closed
 * (or is malformed) is reported with its line, and reading starts again on the next line, so the
 * rows after it are imported or reported too: none disappears inside the broken field.
 */
export function parseDelimited(file: string, text: string, delimiter: ',' | '\t'): ParsedRows {
  const rows: Row[] = [];
  const problems: RecordProblem[] = [];
  let header: string[] | null = null;
  // line numbers: count newlines up to each row's start, incrementally
  let counted = 0;
  let line = 1;
  const lineAt = (pos: number): number => {
    for (let k = counted; k < pos; k++) if (text.charCodeAt(k) === 10) line++;
    counted = Math.max(counted, pos);
    return line;
  };
  let offset = 0;
  while (offset < text.length) {
    const base = offset;
    let prevEnd = base;
    offset = text.length;
    Papa.parse<string[]>(base === 0 ? text : text.slice(base), {
      delimiter,
      header: false,
      step: (res, parser) => {
        const cells = res.data;
        // blank lines are skipped; a row of empty cells is a row (and a problem later)
        if (cells.length === 1 && cells[0]!.trim() === '' && res.errors.length === 0) return;
        let start = prevEnd;
        while (start < text.length && /\s/.test(text[start]!)) start++;
        prevEnd = base + res.meta.cursor;
        const at = lineAt(start);
        const quoteError = res.errors.find((e) => e.type === 'Quotes');
        if (header === null) {
          if (quoteError) throw new InputError(file, `header row: ${quoteError.message}`, `line ${at}`);
          header = uniqueNames(cells.map((c) => c.trim()));
          return;
        }
        if (quoteError) {
          const why = quoteError.code === 'MissingQuotes' ? 'a quote opened here is never closed' : 'a quote here is not followed by a separator';
          problems.push({ source: { file, line: at }, reason: `${quoteError.message} (${why}; the next lines are read as rows of their own)` });
          const next = text.indexOf('\n', start);
          offset = next < 0 ? text.length : next + 1;
          parser.abort();
          return;
        }
        if (cells.length !== header.length) {
          problems.push({ source: { file, line: at }, reason: `has ${cells.length} fields but the header has ${header.length}` });
          return;
        }
        const entries: [string, unknown][] = new Array(cells.length);
        for (let k = 0; k < cells.length; k++) entries[k] = [header[k]!, cells[k]];
        rows.push({ line: at, value: Object.fromEntries(entries) });
      },
    });
  }
  return { rows, problems, columns: header ?? [] };
}

/** Header names made unique ("a", "a" → "a", "a_2"), and blank ones named by position. */
function uniqueNames(names: string[]): string[] {
  const seen = new Set<string>();
  return names.map((n, i) => {
    let name = n === '' ? `column_${i + 1}` : n;
    for (let k = 2; seen.has(name); k++) name = `${n}_${k}`;
    seen.add(name);
    return name;
  });
}

/** Plain text as records: non-blank lines, blank-line-separated paragraphs, or the whole document. */
export function splitText(text: string, mode: TextMode): TextChunk[] {
  if (mode === 'document') return text.trim() === '' ? [] : [{ line: 1, text }];
  const lines = text.split('\n');
  const out: TextChunk[] = [];
  let para: string[] = [];
  let paraLine = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
    const blank = l.trim() === '';
    if (mode === 'lines') {
      if (!blank) out.push({ line: i + 1, text: l });
      continue;
    }
    if (blank) {
      if (para.length) out.push({ line: paraLine, text: para.join('\n') });
      para = [];
    } else {
      if (!para.length) paraLine = i + 1;
      para.push(l);
    }
  }
  if (para.length) out.push({ line: paraLine, text: para.join('\n') });
  return out;
}
