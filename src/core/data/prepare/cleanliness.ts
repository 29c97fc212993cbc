/**
 * Which copy of a duplicate is the cleanest, so de-duplication keeps it rather than simply the
 * first. Compared in this order, the first difference deciding: fewer odd characters (control
 * characters, U+FFFD from a bad decode, private-use and unassigned code points), fewer letters
 * shouted (in words of three or more letters all in capitals), fewer repeated punctuation marks
 * ("!!!", "??" — an ellipsis "..." is fine), then the longer text (whitespace runs counted once).
 * Equal copies: the earlier one. Token records have no text and are all equal.
 */
import type { DataRecord } from '../records.ts';
import { recordText } from './record-text.ts';

export interface Cleanliness {
  readonly odd: number;
  readonly shouted: number;
  readonly repeatedPunctuation: number;
  readonly length: number;
}

const ODD = /[\p{Co}\p{Cn}\uFFFD]|[^\P{Cc}\t\n\r]/gu;
const SHOUTED = /(?<![\p{L}\p{N}])\p{Lu}{3,}(?![\p{L}\p{N}])/gu;
const REPEATED = /(\p{P})\1+/gu;

export function cleanliness(record: DataRecord): Cleanliness {
  const text = recordText(record);
  let shouted = 0;
  for (const m of text.matchAll(SHOUTED)) shouted += m[0].length;
  let repeatedPunctuation = 0;
  for (const m of text.matchAll(REPEATED)) if (m[0] !== '...') repeatedPunctuation += m[0].length - 1;
  return {
    odd: text.match(ODD)?.length ?? 0,
    shouted,
    repeatedPunctuation,
    length: text.replace(/\s+/gu, ' ').trim().length,
  };
}

/** Negative when `a` is the cleaner copy, positive when `b` is, 0 when neither is. */
export function compareCleanliness(a: Cleanliness, b: Cleanliness): number {
  return a.odd - b.odd || a.shouted - b.shouted || a.repeatedPunctuation - b.repeatedPunctuation || b.length - a.length;
}

/** Why `kept` was kept over `other`, for the report; null when it was only the earlier copy. */
export function cleanerBecause(kept: Cleanliness, other: Cleanliness): string | null {
  if (kept.odd !== other.odd) return `fewer odd characters (${kept.odd} vs ${other.odd})`;
  if (kept.shouted !== other.shouted) return `fewer letters in capitals (${kept.shouted} vs ${other.shouted})`;
  if (kept.repeatedPunctuation !== other.repeatedPunctuation) {
    return `fewer repeated punctuation marks (${kept.repeatedPunctuation} vs ${other.repeatedPunctuation})`;
  }
  if (kept.length !== other.length) return `longer (${kept.length} vs ${other.length} characters)`;
  return null;
}
