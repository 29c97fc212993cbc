/** Reading a dataset file from disk as every command does: one import, one way of reporting it. */
import { readFile } from 'node:fs/promises';
import { parseColumnMapping } from '../core/data/columns.ts';
import { importDataset, type ColumnMapping, type ImportOptions, type ImportResult } from '../core/data/import.ts';
import { InputError } from '../core/errors.ts';
import { UsageError, type Parsed } from './args.ts';
import type { Output } from './output.ts';

/** The `--columns FIELD=COLUMN,...` flag's mapping, if given. */
export function columnsFlag(p: Parsed): ColumnMapping | undefined {
  const v = p.columns;
  if (v === undefined) return undefined;
  const m = parseColumnMapping(Array.isArray(v) ? v : String(v).split(','));
  if (!m.ok) throw new UsageError(`--columns: ${m.reason}`);
  return m.value;
}

/**
 * Reads and imports a dataset file; says which columns were recognised, warns about each record
 * left out (the first 20, then a count). No usable record is an InputError (and no warnings).
 */
export async function importFile(file: string, opts: ImportOptions, out: Output): Promise<ImportResult> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new InputError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  // nothing usable: one line naming the file and the first problem, not a list of warnings first
  const parsed = importDataset(file, bytes, opts);
  if (parsed.recognised) {
    out.say(`${file}: columns recognised as ${parsed.recognised.description} (--columns maps others)`);
    out.record({ file, columns_recognised: parsed.recognised.mapping });
  }
  for (const p of parsed.problems.slice(0, 20)) out.warn(`${p.source.file}:${p.source.line}: ${p.reason} (left out)`);
  if (parsed.problems.length > 20) out.warn(`… and ${parsed.problems.length - 20} more records left out`);
  return parsed;
}
