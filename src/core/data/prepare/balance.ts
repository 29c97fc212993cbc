/**
 * Balancing labelled or categorised data: the distribution of a field, then capping,
 * undersampling (to the smallest category) or oversampling (to the largest) each category,
 * seeded so the same settings give the same dataset. Oversampled copies are marked as generated.
 */
import { Rng } from '../../rng.ts';
import type { DatasetRecord } from '../records.ts';
import type { StepResult } from './types.ts';

export interface BalanceConfig {
  readonly field: string;
  readonly mode: 'cap' | 'undersample' | 'oversample';
  /** Records per category for 'cap'. */
  readonly cap?: number;
  readonly seed: number;
}

export const MISSING_CATEGORY = '(none)';

/** A record's category: a field of its row, or `kind` (the record format). */
export function categoryOf(rec: DatasetRecord, field: string): string {
  if (field === 'kind') return rec.record.kind;
  const v = rec.fields?.[field];
  if (v === undefined || v === null || v === '') return MISSING_CATEGORY;
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function distribution(records: readonly DatasetRecord[], field: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of records) {
    const c = categoryOf(r, field);
    counts[c] = (counts[c] ?? 0) + 1;
  }
  return counts;
}

export interface BalanceResult extends StepResult {
  readonly before: Record<string, number>;
  readonly after: Record<string, number>;
}

export function balanceRecords(records: readonly DatasetRecord[], config: BalanceConfig): BalanceResult {
  const groups = new Map<string, number[]>();
  records.forEach((r, i) => {
    const c = categoryOf(r, config.field);
    groups.set(c, [...(groups.get(c) ?? []), i]);
  });
  const sizes = [...groups.values()].map((g) => g.length);
  const target = config.mode === 'cap'
    ? Math.max(1, config.cap ?? Math.min(...sizes))
    : config.mode === 'undersample' ? Math.min(...sizes) : Math.max(...sizes);
  const rng = new Rng(config.seed);
  const keep: number[] = [];
  const copies: DatasetRecord[] = [];
  for (const [, idx] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (idx.length > target) {
      keep.push(...rng.shuffle([...idx]).slice(0, target));
    } else {
      keep.push(...idx);
      if (config.mode === 'oversample') {
        for (let k = idx.length; k < target; k++) {
          const src = records[idx[rng.int(idx.length)]!]!;
          copies.push({ ...src, generated: { method: 'oversample', from: src.source, accepted: true } });
        }
      }
    }
  }
  keep.sort((a, b) => a - b);
  const out = [...keep.map((i) => records[i]!), ...copies];
  return {
    records: out,
    before: distribution(records, config.field),
    after: distribution(out, config.field),
    report: {
      step: 'balance', before: records.length, after: out.length,
      rules: [{
        rule: `${config.mode} by ${config.field}${config.mode === 'cap' ? ` (${target})` : ''}`,
        changed: copies.length, removed: records.length - keep.length, examples: [],
      }],
    },
  };
}
