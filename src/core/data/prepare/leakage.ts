/**
 * Train/validation leakage: validation records that (nearly) repeat a training record measure
 * memorisation, not generalisation. The check reports them; the caller decides whether to drop
 * them from validation (or the training twin).
 */
import type { DatasetRecord, RecordSource } from '../records.ts';
import { DEFAULT_DEDUP, DuplicateIndex, type DedupConfig } from './duplicate-index.ts';

export interface LeakageMatch {
  readonly validation: DatasetRecord;
  readonly validationIndex: number;
  readonly train: RecordSource;
  readonly trainIndex: number;
  readonly similarity: number;
  readonly kind: 'exact' | 'near';
}

export interface LeakageReport {
  readonly checked: number;
  readonly leaked: LeakageMatch[];
}

export function findLeakage(
  train: readonly DatasetRecord[],
  validation: readonly DatasetRecord[],
  config: DedupConfig = DEFAULT_DEDUP,
): LeakageReport {
  const index = new DuplicateIndex(config);
  train.forEach((r, i) => index.add(index.fingerprint(r.record), i));
  const leaked: LeakageMatch[] = [];
  validation.forEach((v, i) => {
    const m = index.match(index.fingerprint(v.record));
    if (m) leaked.push({ validation: v, validationIndex: i, train: train[m.id]!.source, trainIndex: m.id, similarity: m.similarity, kind: m.kind });
  });
  return { checked: validation.length, leaked };
}
