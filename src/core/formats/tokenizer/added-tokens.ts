import type { JsonReader } from './config.ts';
import { literalRegex } from './regex.ts';

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
  normalized: boolean;
}

export function readAddedTokens(r: JsonReader, value: unknown, path: string): AddedToken[] {
  if (value === undefined || value === null) return [];
  return r.array(value, path).map((item, k) => {
    const p = `${path}[${k}]`;
    const o = r.object(item, p);
    const special = r.bool(o['special'], `${p}.special`, false);
    return {
      id: r.int(o['id'], `${p}.id`),
      content: r.string(o['content'], `${p}.content`),
      special,
      lstrip: r.bool(o['lstrip'], `${p}.lstrip`, false),
      rstrip: r.bool(o['rstrip'], `${p}.rstrip`, false),
      singleWord: r.bool(o['single_word'], `${p}.single_word`, false),
      normalized: r.bool(o['normalized'], `${p}.normalized`, !special),
    };
  });
}

// Rust `regex` classes used by the crate for single_word / lstrip / rstrip.
const WORD_CHAR = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;
const SPACE = /\p{White_Space}/u;

/**
 * Finds added tokens in a text the way the crate's AddedVocabulary does: leftmost-longest matches
 * of the token contents, a match of a single_word token is dropped when a word character touches
 * it, lstrip/rstrip widen a match over the whitespace beside it.
 */
export class AddedTokenMatcher {
  private readonly re: RegExp | null;
  private readonly byContent = new Map<string, AddedToken>();

  /** `patterns` maps the text to look for (the content, or its normalized form) to the token. */
  constructor(patterns: Map<string, AddedToken>) {
    const keys = [...patterns.keys()].filter((k) => k.length > 0);
    for (const k of keys) this.byContent.set(k, patterns.get(k)!);
    // An alternation tried longest first gives the leftmost-longest match.
    keys.sort((a, b) => b.length - a.length);
    this.re = keys.length ? new RegExp(keys.map((k) => literalRegex(k).source).join('|'), 'gu') : null;
  }

  get empty(): boolean {
    return this.re === null;
  }

  /**
   * Splits `s` into segments: flat triples (start, end, id) where id is -1 for plain text.
   * Segments cover `s` in order; empty plain segments are omitted.
   */
  split(s: string): number[] {
    const out: number[] = [];
    if (this.re === null || s.length === 0) {
      if (s.length) out.push(0, s.length, -1);
      return out;
    }
    const re = this.re;
    re.lastIndex = 0;
    let done = 0;
    for (;;) {
      const m = re.exec(s);
      if (m === null) break;
      let start = m.index;
      let stop = start + m[0].length;
      const tok = this.byContent.get(m[0])!;
      if (tok.singleWord) {
        const before = start > 0 && WORD_CHAR.test(lastCodePoint(s, start));
        const after = stop < s.length && WORD_CHAR.test(String.fromCodePoint(s.codePointAt(stop)!));
        if (before || after) continue;
      }
      if (tok.lstrip) {
        let a = start;
        while (a > 0 && SPACE.test(s[a - 1]!)) a--;
        start = Math.max(a, done);
      }
      if (tok.rstrip) {
        while (stop < s.length && SPACE.test(s[stop]!)) stop++;
      }
      if (done < start) out.push(done, start, -1);
      out.push(start, stop, tok.id);
      done = stop;
      if (re.lastIndex < stop) re.lastIndex = stop;
    }
    if (done < s.length) out.push(done, s.length, -1);
    return out;
  }
}

function lastCodePoint(s: string, end: number): string {
  const c = s.charCodeAt(end - 1);
  if (c >= 0xdc00 && c <= 0xdfff && end >= 2) {
    const h = s.charCodeAt(end - 2);
    if (h >= 0xd800 && h <= 0xdbff) return s.slice(end - 2, end);
  }
  return s.slice(end - 1, end);
}
