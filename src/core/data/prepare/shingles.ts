/**
 * Shingles: the overlapping pieces a text is compared by. Two texts' Jaccard similarity is
 * |A ∩ B| / |A ∪ B| over their shingle sets. Texts are normalised first (NFKC, lower case,
 * punctuation to spaces, runs of whitespace to one) so case and punctuation edits cost nothing.
 */
import { hashRange } from './hash.ts';

export interface ShingleOptions {
  /**
   * `char`: n code points (robust to small edits and works for scripts written without spaces,
   * Chinese, Japanese, Thai); `word`: n words (coarser, closer to the paper's 5-gram setting for
   * long documents).
   */
  readonly unit: 'char' | 'word';
  readonly size: number;
}

export const DEFAULT_SHINGLES: ShingleOptions = { unit: 'char', size: 5 };

const PUNCTUATION = /[\p{P}]+/gu;
const SPACES = /\s+/gu;

export function normaliseForMatch(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(PUNCTUATION, ' ').replace(SPACES, ' ').trim();
}

const SEED = 0x5eed5;

/** Sorted, distinct 32-bit hashes of the text's shingles; a text shorter than one shingle is one shingle. */
export function shingleSet(normalised: string, opts: ShingleOptions = DEFAULT_SHINGLES): Uint32Array {
  if (normalised === '') return new Uint32Array(0);
  let units: ArrayLike<number>;
  if (opts.unit === 'char') {
    const cps: number[] = [];
    for (const ch of normalised) cps.push(ch.codePointAt(0)!);
    units = cps;
  } else {
    units = normalised.split(' ').map((w) => hashRange(codeUnits(w), 0, w.length, SEED));
  }
  return shinglesOf(units, opts.size);
}

/** Shingles over token ids, for pre-tokenized records. */
export function tokenShingleSet(ids: readonly number[], size: number): Uint32Array {
  return shinglesOf(ids, size);
}

function shinglesOf(units: ArrayLike<number>, size: number): Uint32Array {
  const n = units.length;
  if (n === 0) return new Uint32Array(0);
  const k = Math.max(1, Math.min(size, n));
  const out = new Uint32Array(n - k + 1);
  for (let i = 0; i + k <= n; i++) out[i] = hashRange(units, i, i + k, SEED);
  return sortedUnique(out);
}

function codeUnits(s: string): number[] {
  const out = new Array<number>(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function sortedUnique(a: Uint32Array): Uint32Array {
  a.sort();
  let w = 0;
  for (let i = 0; i < a.length; i++) if (i === 0 || a[i] !== a[w - 1]) a[w++] = a[i]!;
  return a.subarray(0, w);
}

/** Exact Jaccard similarity of two sorted distinct hash sets. */
export function jaccard(a: Uint32Array, b: Uint32Array): number {
  if (a.length === 0 && b.length === 0) return 1;
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      inter++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return inter / (a.length + b.length - inter);
}

/**
 * Jaccard similarity when it is at least `t`, else -1, stopping as soon as the intersection can
 * no longer reach what `t` needs (|A ∩ B| ≥ t(|A| + |B|) / (1 + t)): most LSH candidates are
 * rejected after a few steps.
 */
export function jaccardAtLeast(a: Uint32Array, b: Uint32Array, t: number): number {
  const need = (t * (a.length + b.length)) / (1 + t) - 1e-9;
  if (Math.min(a.length, b.length) < need) return -1;
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < a.length && j < b.length) {
    if (inter + Math.min(a.length - i, b.length - j) < need) return -1;
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      inter++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  const sim = a.length + b.length === 0 ? 1 : inter / (a.length + b.length - inter);
  return sim >= t ? sim : -1;
}
