/** Token statistics of tokenized examples, for the dataset report and for choosing maxLength. */

export interface TokenStats {
  examples: number;
  tokens: number;
  /** Tokens whose label is not -100 (the ones that carry loss). */
  trainableTokens: number;
  minLength: number;
  maxLength: number;
  meanLength: number;
  /** Example lengths: counts[i] holds lengths in [edges[i], edges[i + 1]). */
  histogram: { edges: number[]; counts: number[] };
  /** Examples cut to maxLength. */
  truncated: number;
}

/** A round bin width (1, 2 or 5 × 10^k) giving about `bins` bins up to `max`. */
function niceWidth(max: number, bins: number): number {
  const raw = Math.max(1, max / bins);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

export function tokenStats(
  examples: readonly { inputIds: readonly number[]; labels: readonly number[] }[],
  truncated = 0,
  bins = 20,
): TokenStats {
  let tokens = 0;
  let trainableTokens = 0;
  let min = Infinity;
  let max = 0;
  for (const e of examples) {
    const n = e.inputIds.length;
    tokens += n;
    if (n < min) min = n;
    if (n > max) max = n;
    for (const l of e.labels) if (l !== -100) trainableTokens++;
  }
  const histogram = { edges: [] as number[], counts: [] as number[] };
  if (examples.length) {
    const width = niceWidth(max, bins);
    const lo = Math.floor(min / width) * width;
    const nBins = Math.max(1, Math.ceil((max - lo + 1) / width));
    for (let i = 0; i <= nBins; i++) histogram.edges.push(lo + i * width);
    histogram.counts = new Array<number>(nBins).fill(0);
    for (const e of examples) {
      const b = Math.min(nBins - 1, Math.floor((e.inputIds.length - lo) / width));
      histogram.counts[b]!++;
    }
  }
  return {
    examples: examples.length,
    tokens,
    trainableTokens,
    minLength: examples.length ? min : 0,
    maxLength: max,
    meanLength: examples.length ? tokens / examples.length : 0,
    histogram,
    truncated,
  };
}
