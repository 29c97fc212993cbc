/**
 * Raw documents for continued pre-training: a .txt or .md file is one document; a .jsonl file
 * holds one document per line in its `text` field (the Hugging Face `datasets` text column).
 * Bad input stops with one line naming the file and line: an empty file, a binary file, a JSONL
 * line that is not JSON or has no string `text`.
 */
import { InputError } from '../errors.ts';

export interface Document {
  readonly text: string;
  /** File name, and the JSONL line (1 for a whole text file). */
  readonly source: { readonly file: string; readonly line: number };
}

export const DOCUMENT_EXTENSIONS = ['.txt', '.md', '.jsonl'] as const;

/** Whether a file name is one the document reader takes. */
export const isDocumentFile = (name: string): boolean => DOCUMENT_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e));

/** Bytes → text, refusing what is not UTF-8 text (NUL bytes, invalid sequences). */
function decodeText(file: string, bytes: Uint8Array): string {
  if (bytes.length === 0) throw new InputError(file, 'the file is empty');
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new InputError(file, 'a binary file (a NUL byte), not a text document', `line ${lineAt(bytes, nul)}`);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new InputError(file, 'not UTF-8 text (a binary file?)', `line ${invalidLine(bytes)}`);
  }
}

function lineAt(bytes: Uint8Array, at: number): number {
  let line = 1;
  for (let i = 0; i < at; i++) if (bytes[i] === 10) line++;
  return line;
}

/** Line of the first invalid UTF-8 sequence: where the lenient decoder puts its first U+FFFD. */
function invalidLine(bytes: Uint8Array): number {
  const text = new TextDecoder('utf-8').decode(bytes);
  return text.slice(0, Math.max(0, text.indexOf('\uFFFD'))).split('\n').length;
}

/** The documents of one file; throws InputError (file, line, reason) on bad input. */
export function readDocuments(file: string, bytes: Uint8Array): Document[] {
  const text = decodeText(file, bytes);
  if (!isDocumentFile(file)) throw new InputError(file, `not a document file (expected ${DOCUMENT_EXTENSIONS.join(', ')})`);
  if (!file.toLowerCase().endsWith('.jsonl')) {
    if (text.trim() === '') throw new InputError(file, 'the file holds only whitespace');
    return [{ text: text.replace(/^\uFEFF/, ''), source: { file, line: 1 } }];
  }
  const docs: Document[] = [];
  text.replace(/^\uFEFF/, '').split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new InputError(file, `not JSON (${(e as Error).message})`, `line ${i + 1}`);
    }
    const t = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>).text : undefined;
    if (typeof t !== 'string') throw new InputError(file, 'no "text" field with a string (each line is {"text": "..."})', `line ${i + 1}`);
    if (t.trim() === '') throw new InputError(file, 'the "text" field is empty', `line ${i + 1}`);
    docs.push({ text: t, source: { file, line: i + 1 } });
  });
  if (docs.length === 0) throw new InputError(file, 'no documents (every line is blank)');
  return docs;
}
