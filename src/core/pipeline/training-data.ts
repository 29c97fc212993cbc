import type { DatasetRecord, RecordProblem } from '../data/records.ts';
import { packRows, padRows, rowLength } from '../data/rows.ts';
import { splitTrainValidation } from '../data/split.ts';
import { tokenizeRecords, type Example } from '../data/tokenize.ts';
import { tokenStats, type TokenStats } from '../data/stats.ts';
import type { Tokenizer } from '../formats/tokenizer/tokenizer.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Row } from '../data/rows.ts';
import type { DatasetOptions } from '../workspace/datasets.ts';

export interface TrainingData {
  readonly examples: Example[];
  /** Example index → split. */
  readonly split: { readonly train: number[]; readonly validation: number[] };
  readonly problems: RecordProblem[];
  readonly stats: TokenStats;
  /** Record index of each example. */
  readonly recordOf: number[];
}

/** Records → tokenized examples (with loss masks) and a seeded train/validation split. */
export function trainingData(records: readonly DatasetRecord[], tok: Tokenizer, o: DatasetOptions): TrainingData {
  const t = tokenizeRecords(records, tok, { maxLength: o.maxLength, maskPrompt: o.maskPrompt });
  // Examples keep their record's source (file and line, unique per record).
  const index = new Map(records.map((r, i) => [`${r.source.file}:${r.source.line}`, i]));
  const recordOf = t.examples.map((e) => index.get(`${e.source.file}:${e.source.line}`) ?? -1);
  const split = splitTrainValidation(t.examples.map((_, i) => i), { fraction: o.validationFraction, seed: o.splitSeed });
  return { examples: t.examples, split, problems: t.problems, stats: tokenStats(t.examples, t.stats.truncated), recordOf };
}

/** Training and validation rows of one length (packed or padded). */
export function trainingRows(data: TrainingData, cfg: ModelConfig, o: DatasetOptions): { seq: number; train: Row[]; validation: Row[] } {
  const pick = (idx: number[]) => idx.map((i) => data.examples[i]!);
  const train = pick(data.split.train);
  const validation = pick(data.split.validation);
  const seq = rowLength([...train, ...validation], Math.min(o.maxLength, cfg.maxPositions));
  const padId = cfg.padTokenId ?? cfg.eosTokenIds[0] ?? 0;
  const rows = o.packing ? packRows : padRows;
  return { seq, train: rows(train, seq, padId), validation: validation.length ? rows(validation, seq, padId) : [] };
}
