import type { JsonReader } from './config.ts';
import { BYTE_TO_CHAR, utf8At } from './bytelevel.ts';
import { compileOnig, literalRegex, RegexSyntaxError } from './regex.ts';
import { PieceBuilder, cpLen, mapCodePoints, spanOf, sub, prepend, type Piece } from './pieces.ts';

/** A normalizer of the `tokenizers` crate: rewrites a piece, keeping alignments when tracked. */
export interface Normalizer {
  normalize(p: Piece): Piece;
}

export const NORMALIZER_TYPES = [
  'NFC',
  'NFD',
  'NFKC',
  'NFKD',
  'Lowercase',
  'Sequence',
  'Prepend',
  'Replace',
  'Strip',
  'StripAccents',
  'ByteLevel',
] as const;

const WHITE_SPACE = /\p{White_Space}/u;

/** Code points before which Unicode normalization never reaches back (starters that do not compose). */
function isBoundary(s: string, k: number): boolean {
  const cp = s.codePointAt(k)!;
  if ((cp >= 0x1160 && cp <= 0x11ff) || (cp >= 0xd7b0 && cp <= 0xd7ff)) return false; // Hangul V/T jamo
  return !/\p{M}/u.test(String.fromCodePoint(cp));
}

class UnicodeNorm implements Normalizer {
  constructor(private readonly form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD') {}

  normalize(p: Piece): Piece {
    const out = p.s.normalize(this.form);
    if (!p.st) return { s: out, st: null, en: null, first: p.first };
    if (out === p.s) return p;
    // Normalize chunk by chunk (a starter and its marks) to know where each output unit came from.
    const b = new PieceBuilder(true);
    let start = 0;
    const flush = (end: number): void => {
      if (end <= start) return;
      const [st, en] = spanOf(p, start, end);
      const chunk = p.s.slice(start, end);
      const norm = chunk.normalize(this.form);
      if (norm === chunk) b.copy(p, start, end);
      else b.push(norm, st, en);
      start = end;
    };
    for (let k = 0; k < p.s.length; k += cpLen(p.s, k)) {
      if (k > 0 && isBoundary(p.s, k)) flush(k);
    }
    flush(p.s.length);
    const built = b.build(p.first);
    if (built.s === out) return built;
    // Chunks interacted (rare): align the whole result to the whole source.
    const r = new PieceBuilder(true);
    const [st, en] = spanOf(p, 0, p.s.length);
    r.push(out, st, en);
    return r.build(p.first);
  }
}

class Lowercase implements Normalizer {
  normalize(p: Piece): Piece {
    // Per code point, as the crate does (no context-dependent final sigma).
    return mapCodePoints(p, (c) => c.toLowerCase());
  }
}

class StripAccents implements Normalizer {
  normalize(p: Piece): Piece {
    return mapCodePoints(p, (c) => (/\p{Mn}/u.test(c) ? '' : c));
  }
}

class ByteLevelNorm implements Normalizer {
  normalize(p: Piece): Piece {
    const bytes: number[] = [];
    return mapCodePoints(p, (c) => {
      bytes.length = 0;
      utf8At(c, 0, bytes);
      return bytes.map((x) => BYTE_TO_CHAR[x]).join('');
    });
  }
}

class Prepend implements Normalizer {
  constructor(private readonly text: string) {}
  normalize(p: Piece): Piece {
    return p.s.length ? prepend(p, this.text) : p;
  }
}

class Strip implements Normalizer {
  constructor(
    private readonly left: boolean,
    private readonly right: boolean,
  ) {}
  normalize(p: Piece): Piece {
    let a = 0;
    let b = p.s.length;
    if (this.left) while (a < b && WHITE_SPACE.test(p.s[a]!)) a++;
    if (this.right) while (b > a && WHITE_SPACE.test(p.s[b - 1]!)) b--;
    return sub(p, a, b);
  }
}

class Replace implements Normalizer {
  constructor(
    private readonly re: RegExp,
    private readonly content: string,
  ) {}
  normalize(p: Piece): Piece {
    const re = this.re;
    if (!p.st) {
      re.lastIndex = 0;
      return { s: p.s.replace(re, () => this.content), st: null, en: null, first: p.first };
    }
    const b = new PieceBuilder(true);
    let prev = 0;
    re.lastIndex = 0;
    for (;;) {
      const m = re.exec(p.s);
      if (m === null) break;
      const a = m.index;
      const e = a + m[0].length;
      b.copy(p, prev, a);
      const [st, en] = spanOf(p, a, e);
      b.push(this.content, st, en);
      prev = e;
      if (e === a) {
        if (a >= p.s.length) break;
        re.lastIndex = a + cpLen(p.s, a);
      }
    }
    b.copy(p, prev, p.s.length);
    return b.build(p.first);
  }
}

class SequenceNorm implements Normalizer {
  constructor(private readonly items: Normalizer[]) {}
  normalize(p: Piece): Piece {
    for (const n of this.items) p = n.normalize(p);
    return p;
  }
}

/** A String/Regex pattern object of tokenizer.json (`{"String": "..."}` or `{"Regex": "..."}`). */
export function patternRegex(r: JsonReader, value: unknown, path: string): RegExp {
  const obj = r.object(value, path);
  if (typeof obj['String'] === 'string') return literalRegex(obj['String']);
  if (typeof obj['Regex'] === 'string') {
    try {
      return compileOnig(obj['Regex']);
    } catch (e) {
      if (e instanceof RegexSyntaxError) r.fail(`${path}.Regex`, e.message);
      throw e;
    }
  }
  return r.fail(path, 'expected {"String": ...} or {"Regex": ...}');
}

export function buildNormalizer(r: JsonReader, value: unknown, path: string): Normalizer | null {
  if (value === null || value === undefined) return null;
  const obj = r.object(value, path);
  const type = r.type(obj, path, 'normalizer', NORMALIZER_TYPES);
  switch (type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return new UnicodeNorm(type);
    case 'Lowercase':
      return new Lowercase();
    case 'StripAccents':
      return new StripAccents();
    case 'ByteLevel':
      return new ByteLevelNorm();
    case 'Prepend':
      return new Prepend(r.string(obj['prepend'], `${path}.prepend`));
    case 'Strip':
      return new Strip(r.bool(obj['strip_left'], `${path}.strip_left`, true), r.bool(obj['strip_right'], `${path}.strip_right`, true));
    case 'Replace':
      return new Replace(patternRegex(r, obj['pattern'], `${path}.pattern`), r.string(obj['content'], `${path}.content`));
    case 'Sequence': {
      const list = r.array(obj['normalizers'], `${path}.normalizers`);
      return new SequenceNorm(
        list.map((n, k) => buildNormalizer(r, n, `${path}.normalizers[${k}]`)).filter((n): n is Normalizer => n !== null),
      );
    }
  }
  return r.fail(path, `unhandled normalizer type "${type}"`);
}
