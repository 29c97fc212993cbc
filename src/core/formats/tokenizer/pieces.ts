/**
 * A piece of text moving through normalization and pre-tokenization. When offsets are tracked,
 * every UTF-16 unit of `s` carries the range [st, en) of the original text it came from (inserted
 * text has an empty range at its anchor), like the crate's NormalizedString alignments; when they
 * are not, `st`/`en` are null and only the strings are computed.
 */
export interface Piece {
  s: string;
  st: Int32Array | null;
  en: Int32Array | null;
  /** The piece begins at offset 0 of the original input. */
  first: boolean;
}

export function piece(s: string, start: number | null, first: boolean): Piece {
  if (start === null) return { s, st: null, en: null, first };
  const st = new Int32Array(s.length);
  const en = new Int32Array(s.length);
  for (let k = 0; k < s.length; k++) {
    st[k] = start + k;
    en[k] = start + k + 1;
  }
  return { s, st, en, first };
}

export function sub(p: Piece, a: number, b: number): Piece {
  if (a === 0 && b === p.s.length) return p;
  return {
    s: p.s.slice(a, b),
    st: p.st ? p.st.subarray(a, b) : null,
    en: p.en ? p.en.subarray(a, b) : null,
    first: p.first && a === 0,
  };
}

/** Original range covered by units [a, b) of a tracked piece. */
export function spanOf(p: Piece, a: number, b: number): [number, number] {
  const st = p.st!;
  const en = p.en!;
  if (b > a) return [st[a]!, Math.max(st[a]!, en[b - 1]!)];
  const at = a < st.length ? st[a]! : st.length ? en[st.length - 1]! : 0;
  return [at, at];
}

/** Builds a transformed piece unit by unit, keeping alignments when the source has them. */
export class PieceBuilder {
  private s = '';
  private readonly st: number[] | null;
  private readonly en: number[] | null;

  constructor(tracked: boolean) {
    this.st = tracked ? [] : null;
    this.en = tracked ? [] : null;
  }

  /** Appends `text`, every unit of it aligned to [st, en). */
  push(text: string, st: number, en: number): void {
    this.s += text;
    if (this.st) {
      for (let k = 0; k < text.length; k++) {
        this.st.push(st);
        this.en!.push(en);
      }
    }
  }

  /** Appends units [a, b) of `p` unchanged. */
  copy(p: Piece, a: number, b: number): void {
    this.s += p.s.slice(a, b);
    if (this.st) {
      for (let k = a; k < b; k++) {
        this.st.push(p.st![k]!);
        this.en!.push(p.en![k]!);
      }
    }
  }

  build(first: boolean): Piece {
    return {
      s: this.s,
      st: this.st ? Int32Array.from(this.st) : null,
      en: this.en ? Int32Array.from(this.en) : null,
      first,
    };
  }
}

/** Inserts `text` before the piece; the inserted units anchor at the piece's first unit. */
export function prepend(p: Piece, text: string): Piece {
  if (!p.st) return { s: text + p.s, st: null, en: null, first: p.first };
  const [at] = spanOf(p, 0, 0);
  const n = text.length;
  const st = new Int32Array(n + p.s.length);
  const en = new Int32Array(n + p.s.length);
  st.fill(at, 0, n);
  en.fill(at, 0, n);
  st.set(p.st, n);
  en.set(p.en!, n);
  return { s: text + p.s, st, en, first: p.first };
}

/** Range of the code point starting at unit k (1 or 2 units). */
export function cpLen(s: string, k: number): number {
  const c = s.charCodeAt(k);
  if (c >= 0xd800 && c <= 0xdbff && k + 1 < s.length) {
    const d = s.charCodeAt(k + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

/**
 * Maps every code point of `p` through `f` (which returns its replacement), keeping alignment:
 * each output unit is aligned to the whole source code point.
 */
export function mapCodePoints(p: Piece, f: (ch: string) => string): Piece {
  if (!p.st) {
    let out = '';
    for (let k = 0; k < p.s.length; ) {
      const n = cpLen(p.s, k);
      out += f(p.s.slice(k, k + n));
      k += n;
    }
    return { s: out, st: null, en: null, first: p.first };
  }
  const b = new PieceBuilder(true);
  for (let k = 0; k < p.s.length; ) {
    const n = cpLen(p.s, k);
    const [st, en] = spanOf(p, k, k + n);
    b.push(f(p.s.slice(k, k + n)), st, en);
    k += n;
  }
  return b.build(p.first);
}

export const BEHAVIORS = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'] as const;
export type SplitBehavior = (typeof BEHAVIORS)[number];

/**
 * Splits `p` given its matches — flat (start, end, isMatch) triples covering the piece, as
 * `findMatches` produces them — with the crate's SplitDelimiterBehavior semantics; empty results
 * are dropped. Appends to `out`.
 */
export function splitPiece(p: Piece, m: number[], behavior: SplitBehavior, invert: boolean, out: Piece[]): void {
  const n = m.length / 3;
  const isMatch = (k: number): boolean => (m[3 * k + 2] === 1) !== invert;
  // spans as (start, end, remove)
  const spans: number[] = [];
  switch (behavior) {
    case 'Isolated':
      for (let k = 0; k < n; k++) spans.push(m[3 * k]!, m[3 * k + 1]!, 0);
      break;
    case 'Removed':
      for (let k = 0; k < n; k++) spans.push(m[3 * k]!, m[3 * k + 1]!, isMatch(k) ? 1 : 0);
      break;
    case 'Contiguous': {
      let prev = false;
      for (let k = 0; k < n; k++) {
        const cur = isMatch(k);
        if (spans.length && cur === prev) spans[spans.length - 2] = m[3 * k + 1]!;
        else spans.push(m[3 * k]!, m[3 * k + 1]!, 0);
        prev = cur;
      }
      break;
    }
    case 'MergedWithPrevious': {
      let prev = false;
      for (let k = 0; k < n; k++) {
        const cur = isMatch(k);
        if (cur && !prev && spans.length) spans[spans.length - 2] = m[3 * k + 1]!;
        else spans.push(m[3 * k]!, m[3 * k + 1]!, 0);
        prev = cur;
      }
      break;
    }
    case 'MergedWithNext': {
      let prev = false;
      const rev: number[] = [];
      for (let k = n - 1; k >= 0; k--) {
        const cur = isMatch(k);
        if (cur && !prev && rev.length) rev[rev.length - 3] = m[3 * k]!;
        else rev.push(m[3 * k]!, m[3 * k + 1]!, 0);
        prev = cur;
      }
      for (let k = rev.length - 3; k >= 0; k -= 3) spans.push(rev[k]!, rev[k + 1]!, 0);
      break;
    }
  }
  for (let k = 0; k < spans.length; k += 3) {
    const a = spans[k]!;
    const b = spans[k + 1]!;
    if (spans[k + 2] === 0 && b > a) out.push(sub(p, a, b));
  }
}
