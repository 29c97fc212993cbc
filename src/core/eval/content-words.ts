/**
 * Content words for answer-overlap metrics: lower-cased runs of letters and digits (Unicode), with
 * English function words removed. Sets, so a word repeated in an answer counts once.
 */
const STOP_WORDS = new Set(`a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or
other our ours ourselves out over own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up very was we were what when where which while who whom why will with would you
your yours yourself yourselves also main people called known`.split(/\s+/));

export function contentWords(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.toLowerCase().normalize('NFC').matchAll(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu)) {
    const w = m[0].replace(/['’]s$/, '');
    if (!STOP_WORDS.has(w)) out.add(w);
  }
  return out;
}

/** |a ∩ b| / |a|; null when a is empty (nothing to cover). */
export function coverage(a: ReadonlySet<string>, b: ReadonlySet<string>): number | null {
  if (a.size === 0) return null;
  let n = 0;
  for (const w of a) if (b.has(w)) n++;
  return n / a.size;
}
