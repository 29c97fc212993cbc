/**
 * What a preference file holds: pair (or KTO example) counts, the lengths of each side, pairs
 * whose chosen and rejected answers are the same (left out: they teach nothing), duplicates and
 * personal data in any field.
 */
import { findPersonalData } from './prepare/pii.ts';
import { IDENTICAL_PAIR } from './preference.ts';
import { preferenceRecord, turnsText, type PreferenceFile, type PreferenceFileRow } from './preference-file.ts';
import { preferenceDuplicates } from './preference-prepare.ts';

export interface LengthStats {
  readonly mean: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface PreferenceStats {
  readonly kind: 'paired' | 'unpaired' | null;
  readonly pairs: number;
  readonly desirable: number;
  readonly undesirable: number;
  /** Rows left out for a reason (bad JSON, missing fields, identical answers...). */
  readonly problems: number;
  /** Pairs whose chosen and rejected are the same (among the problems). */
  readonly identical: number;
  /** Exact duplicates of an earlier pair or example (same prompt and answers). */
  readonly duplicates: number;
  /** Characters per side: prompt, chosen, rejected (pairs) or completion (KTO). */
  readonly lengths: Readonly<Record<string, LengthStats>>;
  /** Personal-data matches by kind, over every string field of every record. */
  readonly personal: Readonly<Record<string, number>>;
}

export function lengthStats(xs: readonly number[]): LengthStats {
  if (xs.length === 0) return { mean: 0, median: 0, min: 0, max: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return {
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2,
    min: s[0]!,
    max: s[s.length - 1]!,
  };
}

/** Every string inside a JSON value (keys not included). */
export function stringsOf(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(stringsOf);
  if (v !== null && typeof v === 'object') return Object.values(v).flatMap(stringsOf);
  return [];
}

export function preferenceStats(f: PreferenceFile): PreferenceStats {
  const side = (text: (e: PreferenceFileRow['example']) => string) => lengthStats(f.rows.map((r) => text(r.example).length));
  const lengths: Record<string, LengthStats> = { prompt: side((e) => turnsText(e.prompt)) };
  if (f.kind === 'unpaired') lengths.completion = side((e) => ('completion' in e ? turnsText(e.completion) : ''));
  else {
    lengths.chosen = side((e) => ('chosen' in e ? turnsText(e.chosen) : ''));
    lengths.rejected = side((e) => ('rejected' in e ? turnsText(e.rejected) : ''));
  }
  const personal: Record<string, number> = {};
  for (const r of f.rows) {
    for (const text of stringsOf(preferenceRecord(r))) for (const m of findPersonalData(text)) personal[m.kind] = (personal[m.kind] ?? 0) + 1;
  }
  return {
    kind: f.kind,
    pairs: f.pairs.length,
    desirable: f.unpaired.filter((u) => u.label).length,
    undesirable: f.unpaired.filter((u) => !u.label).length,
    problems: f.problems.length,
    identical: f.problems.filter((p) => p.reason === IDENTICAL_PAIR).length,
    duplicates: preferenceDuplicates(f.rows, { exact: true, near: false }).size,
    lengths,
    personal,
  };
}
