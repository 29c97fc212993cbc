/**
 * Writing-system detection: which Unicode script the letters of a text belong to, using
 * `\p{Script=...}` classes (no Intl, no model). This tells Cyrillic from Latin, not Russian from
 * Bulgarian; for Latin-script languages see `language.ts`. Japanese mixes Han with Hiragana and
 * Katakana, so a filter meant for Japanese should allow all three.
 */

export const SCRIPTS = [
  'Latin',
  'Cyrillic',
  'Greek',
  'Armenian',
  'Georgian',
  'Arabic',
  'Hebrew',
  'Syriac',
  'Thaana',
  'Devanagari',
  'Bengali',
  'Gurmukhi',
  'Gujarati',
  'Tamil',
  'Telugu',
  'Kannada',
  'Malayalam',
  'Sinhala',
  'Thai',
  'Lao',
  'Tibetan',
  'Myanmar',
  'Khmer',
  'Ethiopic',
  'Han',
  'Hiragana',
  'Katakana',
  'Hangul',
] as const;

/** A listed script, or `Other` for letters of any script not listed. */
export type Script = (typeof SCRIPTS)[number] | 'Other';

const MATCHERS: readonly { script: Script; re: RegExp }[] = SCRIPTS.map((script) => ({
  script,
  re: new RegExp(`^\\p{Script=${script}}$`, 'u'),
}));
const LETTER = /^\p{L}$/u;

/** Per-code-point answers are cached: real text reuses few code points. `null` = not a letter of any script. */
const cache = new Map<number, Script | null>();

export function scriptOf(codePoint: number): Script | null {
  // ASCII fast path: most training text is mostly ASCII.
  if (codePoint < 0x80) {
    return (codePoint >= 0x41 && codePoint <= 0x5a) || (codePoint >= 0x61 && codePoint <= 0x7a) ? 'Latin' : null;
  }
  const hit = cache.get(codePoint);
  if (hit !== undefined) return hit;
  const ch = String.fromCodePoint(codePoint);
  let found: Script | null = null;
  for (const m of MATCHERS) {
    if (m.re.test(ch)) {
      found = m.script;
      break;
    }
  }
  // Marks of a script (Devanagari vowel signs) count with it; other non-letters (digits, emoji) do not.
  if (found === null && LETTER.test(ch)) found = 'Other';
  cache.set(codePoint, found);
  return found;
}

export interface ScriptProfile {
  /** Letters counted per script. */
  readonly counts: Partial<Record<Script, number>>;
  /** Letters counted in all (digits, punctuation, emoji are not letters). */
  readonly letters: number;
  /** The script with the most letters; null for a text without letters (e.g. only emoji). */
  readonly dominant: Script | null;
}

export function scriptProfile(text: string): ScriptProfile {
  const counts: Partial<Record<Script, number>> = {};
  let letters = 0;
  for (const ch of text) {
    const s = scriptOf(ch.codePointAt(0)!);
    if (s === null) continue;
    counts[s] = (counts[s] ?? 0) + 1;
    letters++;
  }
  let dominant: Script | null = null;
  let best = 0;
  for (const [s, n] of Object.entries(counts) as [Script, number][]) {
    if (n > best) {
      best = n;
      dominant = s;
    }
  }
  return { counts, letters, dominant };
}

/** Share of the text's letters written in the allowed scripts (1 for a text without letters). */
export function allowedShare(profile: ScriptProfile, allowed: readonly Script[]): number {
  if (profile.letters === 0) return 1;
  let n = 0;
  for (const s of allowed) n += profile.counts[s] ?? 0;
  return n / profile.letters;
}
