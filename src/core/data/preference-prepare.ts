/**
 * `data prepare` for preference files: duplicates across pairs (the same prompt with the same
 * answers, exactly or nearly) and personal data in every field of every record, the row's own
 * columns included. The output keeps TRL's format (an implicit prompt is written out).
 */
import { DuplicateIndex, type DedupConfig } from './prepare/duplicate-index.ts';
import { maskPersonalData, type PiiKind } from './prepare/pii.ts';
import { preferenceRecord, turnsText, type PreferenceFile, type PreferenceFileRow } from './preference-file.ts';

export interface PreferencePrepareConfig {
  readonly dedup: DedupConfig | false;
  /** mask: replace matches with placeholders; flag: report them and keep the text. */
  readonly pii: { readonly mode: 'mask' | 'flag'; readonly kinds: readonly PiiKind[] } | false;
}

/** A row left out as a duplicate of an earlier kept row. */
export interface PreferenceDuplicate {
  readonly line: number;
  readonly of: number;
  readonly kind: 'exact' | 'near';
  readonly similarity: number;
}

export interface PersonalDataHit {
  readonly line: number;
  /** Where in the record: a field name, with the message index for conversations. */
  readonly field: string;
  readonly kind: PiiKind;
}

export interface PreferencePrepareReport {
  readonly input: number;
  readonly output: number;
  readonly problems: readonly { readonly line: number; readonly reason: string }[];
  readonly duplicates: readonly PreferenceDuplicate[];
  readonly personal: readonly PersonalDataHit[];
  readonly personalCounts: Readonly<Record<string, number>>;
  readonly piiMode: 'mask' | 'flag' | 'off';
}

/** One text per record to compare: the prompt and both answers (or the completion and its label). */
function pairText(row: PreferenceFileRow): string {
  const e = row.example;
  const parts = 'chosen' in e ? [e.prompt, e.chosen, e.rejected].map(turnsText) : [turnsText(e.prompt), turnsText(e.completion), String(e.label)];
  return parts.join('\n\u0001\n');
}

/** Rows (by index) that repeat an earlier row; only kept rows are indexed, so clusters do not drift. */
export function preferenceDuplicates(rows: readonly PreferenceFileRow[], config: DedupConfig): Map<number, PreferenceDuplicate> {
  const index = new DuplicateIndex(config);
  const out = new Map<number, PreferenceDuplicate>();
  rows.forEach((row, i) => {
    const fp = index.fingerprint({ kind: 'text', text: pairText(row) });
    const m = index.match(fp);
    if (m) out.set(i, { line: row.line, of: rows[m.id]!.line, kind: m.kind, similarity: m.similarity });
    else index.add(fp, i);
  });
  return out;
}

/** Masks (or only finds) personal data in every string of a JSON value; `at` names where. */
function reviewValue(v: unknown, at: string, mask: boolean, kinds: readonly PiiKind[], hit: (field: string, kind: PiiKind) => void): unknown {
  if (typeof v === 'string') {
    const r = maskPersonalData(v, kinds);
    for (const m of r.matches) hit(at, m.kind);
    return mask ? r.text : v;
  }
  if (Array.isArray(v)) return v.map((x, i) => reviewValue(x, `${at}[${i}]`, mask, kinds, hit));
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reviewValue(x, at ? `${at}.${k}` : k, mask, kinds, hit)]));
  }
  return v;
}

export function preparePreferences(f: PreferenceFile, c: PreferencePrepareConfig): { records: Record<string, unknown>[]; report: PreferencePrepareReport } {
  const dups = c.dedup ? preferenceDuplicates(f.rows, c.dedup) : new Map<number, PreferenceDuplicate>();
  const personal: PersonalDataHit[] = [];
  const personalCounts: Record<string, number> = {};
  const records: Record<string, unknown>[] = [];
  f.rows.forEach((row, i) => {
    if (dups.has(i)) return;
    const record = preferenceRecord(row);
    if (!c.pii) return void records.push(record);
    const hit = (field: string, kind: PiiKind) => {
      personal.push({ line: row.line, field, kind });
      personalCounts[kind] = (personalCounts[kind] ?? 0) + 1;
    };
    records.push(reviewValue(record, '', c.pii.mode === 'mask', c.pii.kinds, hit) as Record<string, unknown>);
  });
  return {
    records,
    report: {
      input: f.rows.length + f.problems.length,
      output: records.length,
      problems: f.problems.map((p) => ({ line: p.source.line, reason: p.reason })),
      duplicates: [...dups.values()],
      personal,
      personalCounts,
      piiMode: c.pii ? c.pii.mode : 'off',
    },
  };
}
