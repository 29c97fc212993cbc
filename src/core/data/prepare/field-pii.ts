/**
 * Personal data in a record's other fields: a preference pair keeps what training reads there
 * (prompt, chosen, rejected, or KTO's completion; strings or message lists), while the record
 * itself shows only the prompt and the chosen answer. Every string in the fields is searched, so
 * masking reaches the rejected answer and every turn of a conversation too.
 */
import { findPersonalData, PII_PLACEHOLDER, type PiiKind, type PiiMatch } from './pii.ts';

export interface FieldPiiHit {
  /** Where in the fields, e.g. `rejected` or `chosen[1].content`. */
  readonly location: string;
  readonly match: PiiMatch;
}

export interface FieldPiiResult {
  readonly fields: Readonly<Record<string, unknown>>;
  readonly hits: readonly FieldPiiHit[];
}

function mask(text: string, matches: readonly PiiMatch[]): string {
  let t = text;
  for (const m of [...matches].reverse()) t = t.slice(0, m.start) + PII_PLACEHOLDER[m.kind] + t.slice(m.end);
  return t;
}

/**
 * Finds (and with `masking`, replaces) personal data in every string of the fields. A string equal
 * to one the record already shows (`shown`) is masked alike but not reported again.
 */
export function reviewFieldPii(
  fields: Readonly<Record<string, unknown>>, kinds: readonly PiiKind[], masking: boolean, shown: ReadonlySet<string>,
): FieldPiiResult {
  const hits: FieldPiiHit[] = [];
  const visit = (v: unknown, at: string): unknown => {
    if (typeof v === 'string') {
      const found = findPersonalData(v, kinds);
      if (!shown.has(v)) for (const match of found) hits.push({ location: at, match });
      return masking && found.length ? mask(v, found) : v;
    }
    if (Array.isArray(v)) return v.map((x, i) => visit(x, `${at}[${i}]`));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x, `${at}.${k}`)]));
    return v;
  };
  const out = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, visit(v, k)]));
  return { fields: masking ? out : fields, hits };
}
