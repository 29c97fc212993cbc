/**
 * A Prepare report that masked personal data must not print it elsewhere: rule examples show
 * text before a change (which may still hold an email or a card number), flags show what matched.
 * With masking on, the same detectors mask every text the report shows, flags included.
 */
import { maskPersonalData, PII_PLACEHOLDER, type PiiKind } from '../../core/data/prepare/pii.ts';
import type { QualityReport } from '../../core/data/prepare/report.ts';

const mask = (text: string | undefined) => (text === undefined ? undefined : maskPersonalData(text).text);

const placeholder = (kind: string) => PII_PLACEHOLDER[kind as PiiKind] ?? '[PERSONAL DATA]';

export function redactReport(report: QualityReport, text: string): { report: QualityReport; text: string } {
  // The text report quotes each flag's (shortened) match: those quotes become the placeholder too.
  let masked = maskPersonalData(text).text;
  for (const f of report.flags) if (f.kind !== 'blocklist') masked = masked.split(`"${f.match}"`).join(`"${placeholder(f.kind)}"`);
  return {
    report: {
      ...report,
      steps: report.steps.map((s) => ({
        ...s,
        rules: s.rules.map((r) => ({ ...r, examples: r.examples.map((e) => ({ ...e, before: mask(e.before), after: mask(e.after) })) })),
      })),
      flags: report.flags.map((f) => (f.kind === 'blocklist' ? f : { ...f, match: placeholder(f.kind) })),
    },
    text: masked,
  };
}
