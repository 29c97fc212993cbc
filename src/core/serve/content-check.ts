/**
 * Prompt and output monitoring with the data-preparation detectors: personal data (emails,
 * phone and card numbers, IPs, URLs with credentials) and blocklisted terms. `flag` records what
 * was found; `redact` also replaces it in the text (personal data by its placeholder, blocklisted
 * terms by [BLOCKED]).
 */
import { Blocklist } from '../data/prepare/blocklist.ts';
import { findPersonalData, PII_PLACEHOLDER } from '../data/prepare/pii.ts';

export type CheckMode = 'flag' | 'redact' | 'off';

export interface CheckResult {
  readonly text: string;
  /** e.g. ["pii:email", "blocklist:foo"]; empty when nothing was found. */
  readonly flags: string[];
}

export class ContentCheck {
  constructor(
    readonly mode: CheckMode,
    private readonly blocklist: Blocklist | null,
  ) {}

  check(text: string): CheckResult {
    if (this.mode === 'off') return { text, flags: [] };
    const spans: { start: number; end: number; replace: string; flag: string }[] = [];
    for (const m of findPersonalData(text)) spans.push({ start: m.start, end: m.end, replace: PII_PLACEHOLDER[m.kind], flag: `pii:${m.kind}` });
    for (const m of this.blocklist?.find(text) ?? []) spans.push({ start: m.start, end: m.end, replace: '[BLOCKED]', flag: `blocklist:${m.term}` });
    const flags = [...new Set(spans.map((s) => s.flag))];
    if (this.mode === 'flag' || spans.length === 0) return { text, flags };
    spans.sort((a, b) => a.start - b.start);
    let out = '';
    let at = 0;
    for (const s of spans) {
      if (s.start < at) continue; // overlapping matches: the first one wins
      out += text.slice(at, s.start) + s.replace;
      at = s.end;
    }
    return { text: out + text.slice(at), flags };
  }
}
