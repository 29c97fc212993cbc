/**
 * Metrics as people read them: numbers without exponents, and a change as a ratio or in points
 * ("perplexity 425 → 14 (30× lower)"), never "1.00e+7 → 3785 (-100%)".
 */

/** A number for people: thousands separated, a few significant digits, no exponent below a trillion. */
export function readable(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'not a number' : n > 0 ? 'infinite' : '−infinite';
  const a = Math.abs(n);
  if (a >= 1e12) return `${n < 0 ? '−' : ''}over a trillion`;
  if (a >= 100) return Math.round(n).toLocaleString('en-US');
  if (a >= 10) return n.toFixed(1).replace(/\.0$/, '');
  if (a >= 0.01 || a === 0) return String(Number(n.toPrecision(3)));
  return n.toPrecision(2);
}

export interface MetricChange {
  readonly text: string;
  /** True when the change is an improvement, false when it is worse, null when there is none. */
  readonly good: boolean | null;
}

/** A ratio in words: "30× lower", "2.5× higher", or a percentage for changes under 2×. */
function ratioText(before: number, after: number): string {
  const up = after > before;
  const ratio = up ? after / before : before / after;
  if (ratio >= 2) return `${ratio >= 10 ? Math.round(ratio).toLocaleString('en-US') : ratio.toFixed(1).replace(/\.0$/, '')}× ${up ? 'higher' : 'lower'}`;
  const pct = Math.round((100 * Math.abs(after - before)) / before);
  return pct === 0 ? 'about the same' : `${pct}% ${up ? 'higher' : 'lower'}`;
}

/**
 * How a metric moved from the base model to the fine-tuned one. `kind` says how to compare:
 * `ratio` for positive scales (perplexity), `difference` for log-scale values (loss, log p,
 * entropy: "0.8 lower"), `rate` for fractions (exact match: "+40 points").
 */
export function metricChange(before: number | null, after: number | null, kind: 'ratio' | 'difference' | 'rate', lowerIsBetter: boolean): MetricChange {
  if (before === null || after === null || !Number.isFinite(before) || !Number.isFinite(after)) return { text: '', good: null };
  const good = after === before ? null : lowerIsBetter ? after < before : after > before;
  if (kind === 'rate') {
    const points = Math.round(100 * (after - before));
    return { text: points === 0 ? 'no change' : `${points > 0 ? '+' : '−'}${Math.abs(points)} points`, good: points === 0 ? null : good };
  }
  if (kind === 'ratio' && before > 0 && after > 0) {
    const text = ratioText(before, after);
    return { text, good: text === 'about the same' ? null : good };
  }
  const d = after - before;
  if (Math.abs(d) < 0.005) return { text: 'about the same', good: null };
  return { text: `${readable(Math.abs(d))} ${d > 0 ? 'higher' : 'lower'}`, good };
}
