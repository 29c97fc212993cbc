import type { ImportOptions } from '../core/data/import.ts';
import type { DatasetRecord, RecordProblem } from '../core/data/records.ts';
import { tokenizeRecords } from '../core/data/tokenize.ts';
import { InputError } from '../core/errors.ts';
import type { EvalItem } from '../core/eval/report.ts';
import type { Tokenizer } from '../core/formats/tokenizer.ts';
import { importFile } from './import-file.ts';
import type { Output } from './output.ts';

export interface LoadedData {
  readonly file: string;
  readonly records: DatasetRecord[];
  readonly examples: EvalItem[];
  readonly problems: RecordProblem[];
  readonly truncated: number;
}

export interface DataOptions extends ImportOptions {
  readonly maxLength: number;
  readonly maskPrompt: boolean;
}

/**
 * Reads a dataset file (any supported format) and tokenizes it. Bad records are reported (file,
 * line, reason) and left out; the rest load. Without a tokenizer only pre-tokenized records work.
 */
export async function loadData(file: string, tok: Tokenizer | null, vocabSize: number, o: DataOptions, out: Output): Promise<LoadedData> {
  const parsed = await importFile(file, o, out);
  const problems = [...parsed.problems];
  let examples: EvalItem[];
  let truncated = 0;
  if (tok) {
    const t = tokenizeRecords(parsed.records, tok, { maxLength: o.maxLength, maskPrompt: o.maskPrompt });
    problems.push(...t.problems);
    examples = t.examples;
    truncated = t.stats.truncated;
  } else {
    examples = [];
    for (const r of parsed.records) {
      if (r.record.kind !== 'tokens') {
        throw new InputError(file, `line ${r.source.line} is a ${r.record.kind} record, but the model folder has no tokenizer.json (only input_ids records can be used)`);
      }
      const ids = r.record.inputIds;
      const labels = r.record.labels ?? ids;
      const bad = [...ids, ...labels].find((v) => v >= vocabSize);
      if (bad !== undefined) {
        problems.push({ source: r.source, reason: `token id ${bad} is outside the vocabulary (${vocabSize})` });
        continue;
      }
      if (ids.length > o.maxLength) {
        truncated++;
        examples.push({ inputIds: ids.slice(0, o.maxLength), labels: labels.slice(0, o.maxLength), source: r.source });
      } else {
        examples.push({ inputIds: ids, labels, source: r.source });
      }
    }
  }
  // import problems were reported by importFile; these are the tokenizer's
  const later = problems.slice(parsed.problems.length);
  for (const p of later.slice(0, 20)) out.warn(`${p.source.file}:${p.source.line}: ${p.reason} (left out)`);
  if (later.length > 20) out.warn(`… and ${later.length - 20} more records left out`);
  if (examples.length === 0) throw new InputError(file, `no usable records${problems.length ? ` (${problems.length} left out; the first: line ${problems[0]!.source.line}: ${problems[0]!.reason})` : ''}`);
  return { file, records: parsed.records, examples, problems, truncated };
}
