/**
 * A Prepare report that masked personal data must not print it elsewhere: rule examples show
 * text before a change (which may still hold an email or a card number), flags show what matched.
 * With masking on, the same detectors mask every text the report shows, flags included.
 */
import { maskPersonalData, PII_PLACEHOLDER, type PiiKind } from '../../core/data/prepare/pii.ts';
import type { QualityReport } from '../../core/data/prepare/report.ts';

const mask = (text: string | undefined) => (text === undefined ? undefined : maskPersonalData(text).text);

export function redactReport(report: QualityReport, text: string): { report: QualityReport; text: string } {
  return {
    report: {
      ...report,
      steps: report.steps.map((s) => ({
        ...s,
        rules: s.rules.map((r) => ({ ...r, examples: r.examples.map((e) => ({ ...e, before: mask(e.before), after: mask(e.after) })) })),
      })),
      flags: report.flags.map((f) => (f.kind === 'blocklist' ? f : { ...f, match: PII_PLACEHOLDER[f.kind as PiiKind] ?? '[PERSONAL DATA]' })),
    },
    text: maskPersonalData(text).text,
  };
}
