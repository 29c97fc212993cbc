import type { ImportOptions } from '../core/data/import.ts';
import type { DatasetRecord, RecordProblem } from '../core/data/records.ts';
import { InputError } from '../core/errors.ts';
import type { EvalItem } from '../core/eval/report.ts';
import type { Tokenizer } from '../core/formats/tokenizer/tokenizer.ts';
import type { ModelConfig } from '../core/model/config.ts';
import { tokenizedExamples } from '../core/pipeline/training-data.ts';
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
 * Reads a dataset file (any supported format) and tokenizes it (pipeline/training-data.ts). Bad
 * records are reported (file, line, reason) and left out; the rest load.
 */
export async function loadData(file: string, tok: Tokenizer | null, cfg: ModelConfig, o: DataOptions, out: Output): Promise<LoadedData> {
  const parsed = await importFile(file, o, out);
  const t = tokenizedExamples(parsed.records, tok, cfg, o);
  const problems = [...parsed.problems, ...t.problems];
  // nothing usable: one line naming the first problem, no warnings before it
  if (t.examples.length === 0) {
    const first = problems[0] ? ` (${problems.length} left out; the first: line ${problems[0].source.line}: ${problems[0].reason})` : '';
    throw new InputError(file, `no usable records${first}`);
  }
  // import problems were reported by importFile; these are the tokenizer's
  for (const p of t.problems.slice(0, 20)) out.warn(`${p.source.file}:${p.source.line}: ${p.reason} (left out)`);
  if (t.problems.length > 20) out.warn(`… and ${t.problems.length - 20} more records left out`);
  return { file, records: parsed.records, examples: t.examples, problems, truncated: t.truncated };
}
