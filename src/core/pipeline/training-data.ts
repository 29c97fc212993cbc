/**
 * The data half of a run, the same for every host: records → tokenized examples (with loss masks)
 * → a seeded train/validation split → rows of one length for the trainer.
 */
import { InputError } from '../errors.ts';
import type { DatasetRecord, RecordProblem } from '../data/records.ts';
import { packRows, padRows, rowLength, type Row } from '../data/rows.ts';
import { splitTrainValidation } from '../data/split.ts';
import { tokenizeRecords, type Example } from '../data/tokenize.ts';
import { tokenStats, type TokenStats } from '../data/stats.ts';
import type { Tokens } from '../data/packing.ts';
import type { Tokenizer } from '../formats/tokenizer/tokenizer.ts';
import type { ModelConfig } from '../model/config.ts';

/** How a dataset becomes training rows (the Data view's options; the train command's flags). */
export interface DataOptions {
  readonly maxLength: number;
  readonly maskPrompt: boolean;
  readonly packing: boolean;
  readonly validationFraction: number;
  readonly splitSeed: number;
}

export interface Examples {
  readonly examples: Example[];
  /** Records left out, with file, line and reason. */
  readonly problems: RecordProblem[];
  /** Examples cut to maxLength. */
  readonly truncated: number;
}

/** The longest example a model takes: the asked length, capped at the model's positions. */
export const maxExampleLength = (maxLength: number, cfg: ModelConfig): number => Math.min(maxLength, cfg.maxPositions);

/**
 * Records → tokenized examples of at most maxExampleLength tokens. Without a tokenizer only
 * pre-tokenized records can be used; their ids are checked against the vocabulary.
 */
export function tokenizedExamples(
  records: readonly DatasetRecord[], tok: Tokenizer | null, cfg: ModelConfig, o: { readonly maxLength: number; readonly maskPrompt: boolean },
): Examples {
  const maxLength = maxExampleLength(o.maxLength, cfg);
  const vocabSize = cfg.vocabSize;
  if (tok) {
    const t = tokenizeRecords(records, tok, { maxLength, maskPrompt: o.maskPrompt });
    return { examples: t.examples, problems: t.problems, truncated: t.stats.truncated };
  }
  const examples: Example[] = [];
  const problems: RecordProblem[] = [];
  let truncated = 0;
  for (const r of records) {
    if (r.record.kind !== 'tokens') {
      const why = `line ${r.source.line} is a ${r.record.kind} record, but the model folder has no tokenizer.json (only input_ids records can be used)`;
      throw new InputError(r.source.file, why);
    }
    const ids = r.record.inputIds;
    const labels = r.record.labels ?? ids;
    const bad = [...ids, ...labels].find((v) => v >= vocabSize);
    if (bad !== undefined) {
      problems.push({ source: r.source, reason: `token id ${bad} is outside the vocabulary (${vocabSize})` });
      continue;
    }
    const cut = ids.length > maxLength;
    if (cut) truncated++;
    examples.push({ inputIds: ids.slice(0, maxLength), labels: labels.slice(0, maxLength), source: r.source, ...(cut ? { truncated: true } : {}) });
  }
  return { examples, problems, truncated };
}

export interface TrainingData extends Examples {
  /** Example index → split. */
  readonly split: { readonly train: number[]; readonly validation: number[] };
  readonly stats: TokenStats;
  /** Record index of each example. */
  readonly recordOf: number[];
}

/** Records → tokenized examples and a seeded train/validation split. */
export function trainingData(records: readonly DatasetRecord[], tok: Tokenizer | null, cfg: ModelConfig, o: DataOptions): TrainingData {
  const t = tokenizedExamples(records, tok, cfg, o);
  // Examples keep their record's source (file and line, unique per record).
  const index = new Map(records.map((r, i) => [`${r.source.file}:${r.source.line}`, i]));
  const recordOf = t.examples.map((e) => index.get(`${e.source.file}:${e.source.line}`) ?? -1);
  const split = splitTrainValidation(t.examples.map((_, i) => i), { fraction: o.validationFraction, seed: o.splitSeed });
  return { ...t, split, stats: tokenStats(t.examples, t.truncated), recordOf };
}

/** The examples of each part of the split. */
export function splitExamples(data: TrainingData): { train: Example[]; validation: Example[] } {
  const pick = (idx: number[]) => idx.map((i) => data.examples[i]!);
  return { train: pick(data.split.train), validation: pick(data.split.validation) };
}

export interface TrainingRows {
  readonly seq: number;
  readonly train: Row[];
  readonly validation: Row[];
}

/**
 * Training and validation rows of one length (packed or padded): `seq` when given, else the longest
 * example rounded up to a multiple of 8, never past maxLength nor the model's positions.
 */
export function trainingRows(
  parts: { readonly train: readonly Tokens[]; readonly validation: readonly Tokens[] }, cfg: ModelConfig, padId: number,
  o: { readonly maxLength: number; readonly packing: boolean; readonly seq?: number },
): TrainingRows {
  const seq = o.seq ?? rowLength([...parts.train, ...parts.validation], maxExampleLength(o.maxLength, cfg));
  const rows = o.packing ? packRows : padRows;
  return { seq, train: rows(parts.train, seq, padId), validation: parts.validation.length ? rows(parts.validation, seq, padId) : [] };
}
