/**
 * Raw documents as a workspace dataset, for continued pre-training: several .txt/.md files (one
 * document each) and .jsonl files ({"text": ...} per line) read with the CLI's reader
 * (data/documents.ts, bad input named by file and line) and stored as one JSONL dataset of text
 * records, each remembering its file. Rows are packed, every token is a target, a fifth of the
 * documents is held out (`tabtune train-cpt`'s defaults).
 */
import { readDocuments } from '../data/documents.ts';
import type { DatasetLibrary, DatasetMeta, DatasetOptions } from './datasets.ts';

export interface DocumentFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export const DOCUMENT_DATASET_OPTIONS: Partial<DatasetOptions> = { validationFraction: 0.2, maskPrompt: false, packing: true };

/** The dataset's name: the file's, or the first file's and how many more. */
export const documentsName = (files: readonly DocumentFile[]): string =>
  files.length === 1 ? files[0]!.name : `${files[0]!.name} + ${files.length - 1} more (documents)`;

export async function importDocuments(library: DatasetLibrary, files: readonly DocumentFile[], name?: string): Promise<DatasetMeta> {
  if (files.length === 0) throw new Error('no document files were given (.txt, .md or .jsonl)');
  const lines = files.flatMap((f) => readDocuments(f.name, f.bytes).map((d) => JSON.stringify({ text: d.text, file: f.name })));
  const bytes = new TextEncoder().encode(`${lines.join('\n')}\n`);
  const title = name ?? documentsName(files);
  return library.import(title.endsWith('.jsonl') ? title : `${title}.jsonl`, bytes, { ...DOCUMENT_DATASET_OPTIONS, textMode: 'lines' });
}
