/**
 * The responsible-data review step: personal data (flag or mask) and blocklisted terms (flag or
 * remove). Everything it finds is listed with file, line, where in the record, and the match.
 */
import type { DatasetRecord, RecordSource } from '../records.ts';
import { Blocklist } from './blocklist.ts';
import { reviewFieldPii } from './field-pii.ts';
import { findPersonalData, PII_KINDS, PII_PLACEHOLDER, type PiiKind } from './pii.ts';
import { describeRecord, mapRecordTexts, textParts, withRecord } from './record-text.ts';
import type { RecordStep } from './step.ts';
import { RuleTally, shorten } from './tally.ts';
import type { StepResult } from './types.ts';

export interface ReviewConfig {
  readonly pii: { readonly mode: 'flag' | 'mask'; readonly kinds: readonly PiiKind[] } | false;
  readonly blocklist: { readonly terms: readonly string[]; readonly action: 'flag' | 'remove' } | false;
}

export const DEFAULT_REVIEW: ReviewConfig = { pii: { mode: 'mask', kinds: PII_KINDS }, blocklist: false };

export interface Flag {
  readonly source: RecordSource;
  readonly kind: PiiKind | 'blocklist';
  /** Where in the record (`messages[1].content`, `completion`, ...). */
  readonly location: string;
  /** The matched text (personal data shortened to its first characters in reports). */
  readonly match: string;
  readonly action: 'flagged' | 'masked' | 'removed';
}

export interface ReviewResult extends StepResult {
  readonly flags: Flag[];
}

/** Shows enough of a personal-data match to find it, not the whole value. */
const redact = (s: string) => (s.length <= 4 ? '…' : `${s.slice(0, 3)}…(${s.length} chars)`);

export function createReviewStep(config: ReviewConfig, maxFlags = 1000, maxExamples = 5): RecordStep<ReviewResult> {
  const blocklist = config.blocklist ? new Blocklist(config.blocklist.terms) : null;
  const piiTally = new RuleTally(config.pii ? `personal-data (${config.pii.mode})` : 'personal-data', maxExamples);
  const blockTally = new RuleTally(config.blocklist ? `blocklist (${config.blocklist.action})` : 'blocklist', maxExamples);
  const out: DatasetRecord[] = [];
  const flags: Flag[] = [];
  let seen = 0;
  const flag = (f: Flag) => {
    if (flags.length < maxFlags) flags.push(f);
  };
  return {
    name: 'review',
    push(input) {
      seen++;
      let rec = input;
      if (blocklist && blocklist.size) {
        const hits = textParts(rec.record).flatMap((p) => blocklist.find(p.text).map((m) => ({ p, m })));
        if (hits.length) {
          const remove = config.blocklist && config.blocklist.action === 'remove';
          const action = remove ? 'removed' : 'flagged';
          for (const { p, m } of hits) flag({ source: rec.source, kind: 'blocklist', location: p.location, match: m.term, action });
          if (remove) {
            blockTally.removed(rec.source, describeRecord(rec.record), hits.map((h) => h.m.term).join(', '));
            return;
          }
          const terms = [...new Set(hits.map((h) => h.m.term))].join(', ');
          blockTally.changed(rec.source, describeRecord(rec.record), describeRecord(rec.record), `flagged: ${terms}`);
        }
      }
      if (config.pii) {
        const { mode, kinds } = config.pii;
        let found = 0;
        for (const p of textParts(rec.record)) {
          for (const m of findPersonalData(p.text, kinds)) {
            found++;
            flag({ source: rec.source, kind: m.kind, location: p.location, match: redact(m.text), action: mode === 'mask' ? 'masked' : 'flagged' });
          }
        }
        const shownTexts = new Set(textParts(rec.record).map((p) => p.text));
        const inFields = rec.fields ? reviewFieldPii(rec.fields, kinds, mode === 'mask', shownTexts) : null;
        for (const h of inFields?.hits ?? []) {
          found++;
          flag({ source: rec.source, kind: h.match.kind, location: h.location, match: redact(h.match.text), action: mode === 'mask' ? 'masked' : 'flagged' });
        }
        if (inFields && mode === 'mask') rec = { ...rec, fields: inFields.fields };
        if (found) {
          const before = describeRecord(rec.record);
          if (mode === 'mask') {
            rec = withRecord(rec, mapRecordTexts(rec.record, (s) => {
              let t = s;
              for (const m of findPersonalData(s, kinds).reverse()) t = t.slice(0, m.start) + PII_PLACEHOLDER[m.kind] + t.slice(m.end);
              return t;
            }));
          }
          const shown = shorten(mode === 'mask' ? '(personal data withheld)' : before);
          piiTally.changed(rec.source, shown, describeRecord(rec.record), `${found} match${found > 1 ? 'es' : ''}`);
        }
      }
      out.push(rec);
    },
    finish() {
      return {
        records: out,
        flags,
        report: { step: 'review', before: seen, after: out.length, rules: [piiTally.report(), blockTally.report()] },
      };
    },
  };
}
