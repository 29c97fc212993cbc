import type { JsonReader } from './config.ts';
import { BYTE_TO_CHAR, toByteChars, utf8At } from './bytelevel.ts';
import { compileOnig, findMatches } from './regex.ts';
import { patternRegex } from './normalizers.ts';
import { BEHAVIORS, PieceBuilder, cpLen, prepend, splitPiece, type Piece, type SplitBehavior } from './pieces.ts';

/** A pre-tokenizer of the `tokenizers` crate: splits (and may rewrite) pieces. */
export interface PreTokenizer {
  preTokenize(pieces: Piece[]): Piece[];
}

export const PRETOKENIZER_TYPES = [
  'ByteLevel',
  'Split',
  'Sequence',
  'Digits',
  'Whitespace',
  'WhitespaceSplit',
  'Punctuation',
  'BertPreTokenizer',
  'Metaspace',
] as const;

/** GPT-2's split regex (Oniguruma syntax), used by ByteLevel with use_regex. */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

let gpt2Regex: RegExp | null = null;
let wordRegex: RegExp | null = null;

/** Splits every piece on the matches of a regex. */
class RegexSplit implements PreTokenizer {
  private readonly m: number[] = [];
  constructor(
    private readonly re: RegExp,
    private readonly behavior: SplitBehavior,
    private readonly invert: boolean,
  ) {}
  preTokenize(pieces: Piece[]): Piece[] {
    const out: Piece[] = [];
    for (const p of pieces) {
      findMatches(this.re, p.s, this.m);
      splitPiece(p, this.m, this.behavior, this.invert, out);
    }
    return out;
  }
}

/** Maps each piece to its byte-level form (one character per UTF-8 byte). */
export function byteLevelPiece(p: Piece): Piece {
  if (!p.st) return { s: toByteChars(p.s), st: null, en: null, first: p.first };
  const b = new PieceBuilder(true);
  const bytes: number[] = [];
  for (let k = 0; k < p.s.length; ) {
    const n = cpLen(p.s, k);
    bytes.length = 0;
    utf8At(p.s, k, bytes);
    const st = p.st[k]!;
    const en = Math.max(st, p.en![k + n - 1]!);
    for (const x of bytes) b.push(BYTE_TO_CHAR[x]!, st, en);
    k += n;
  }
  return b.build(p.first);
}

class ByteLevel implements PreTokenizer {
  private readonly split: RegexSplit | null;
  constructor(
    private readonly addPrefixSpace: boolean,
    useRegex: boolean,
  ) {
    this.split = useRegex ? new RegexSplit((gpt2Regex ??= compileOnig(GPT2_PATTERN)), 'Isolated', false) : null;
  }
  preTokenize(pieces: Piece[]): Piece[] {
    if (this.addPrefixSpace) pieces = pieces.map((p) => (p.s.startsWith(' ') ? p : prepend(p, ' ')));
    if (this.split) pieces = this.split.preTokenize(pieces);
    return pieces.map(byteLevelPiece);
  }
}

class Metaspace implements PreTokenizer {
  private readonly splitter: RegexSplit;
  constructor(
    private readonly replacement: string,
    private readonly scheme: 'always' | 'first' | 'never',
    private readonly split: boolean,
  ) {
    this.splitter = new RegexSplit(new RegExp(replacement.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'), 'gu'), 'MergedWithNext', false);
  }
  preTokenize(pieces: Piece[]): Piece[] {
    const rep = this.replacement;
    const mapped = pieces.map((p) => {
      let q = p.s.includes(' ') ? replaceSpaces(p, rep) : p;
      if (!q.s.startsWith(rep) && (this.scheme === 'always' || (this.scheme === 'first' && q.first))) q = prepend(q, rep);
      return q;
    });
    return this.split ? this.splitter.preTokenize(mapped) : mapped;
  }
}

function replaceSpaces(p: Piece, rep: string): Piece {
  if (!p.st) return { s: p.s.split(' ').join(rep), st: null, en: null, first: p.first };
  const b = new PieceBuilder(true);
  for (let k = 0; k < p.s.length; k++) {
    if (p.s[k] === ' ') b.push(rep, p.st[k]!, p.en![k]!);
    else b.copy(p, k, k + 1);
  }
  return b.build(p.first);
}

class SequencePre implements PreTokenizer {
  constructor(private readonly items: PreTokenizer[]) {}
  preTokenize(pieces: Piece[]): Piece[] {
    for (const t of this.items) pieces = t.preTokenize(pieces);
    return pieces;
  }
}

function behavior(r: JsonReader, value: unknown, path: string, fallback: SplitBehavior): SplitBehavior {
  if (value === undefined || value === null) return fallback;
  const s = r.string(value, path);
  if (!(BEHAVIORS as readonly string[]).includes(s)) {
    r.fail(path, `unknown split behavior "${s}" (supported: ${BEHAVIORS.join(', ')})`);
  }
  return s as SplitBehavior;
}

export function buildPreTokenizer(r: JsonReader, value: unknown, path: string): PreTokenizer | null {
  if (value === null || value === undefined) return null;
  const obj = r.object(value, path);
  const type = r.type(obj, path, 'pre-tokenizer', PRETOKENIZER_TYPES);
  switch (type) {
    case 'ByteLevel':
      return new ByteLevel(r.bool(obj['add_prefix_space'], `${path}.add_prefix_space`, true), r.bool(obj['use_regex'], `${path}.use_regex`, true));
    case 'Split':
      return new RegexSplit(
        patternRegex(r, obj['pattern'], `${path}.pattern`),
        behavior(r, obj['behavior'], `${path}.behavior`, 'Isolated'),
        r.bool(obj['invert'], `${path}.invert`, false),
      );
    case 'Sequence': {
      const list = r.array(obj['pretokenizers'], `${path}.pretokenizers`);
      return new SequencePre(
        list.map((p, k) => buildPreTokenizer(r, p, `${path}.pretokenizers[${k}]`)).filter((p): p is PreTokenizer => p !== null),
      );
    }
    case 'Digits': {
      const individual = r.bool(obj['individual_digits'], `${path}.individual_digits`, false);
      return new RegexSplit(/\p{N}/gu, individual ? 'Isolated' : 'Contiguous', false);
    }
    case 'Whitespace':
      return new RegexSplit((wordRegex ??= compileOnig('\\w+|[^\\w\\s]+')), 'Removed', true);
    case 'WhitespaceSplit':
      return new RegexSplit(/\p{White_Space}/gu, 'Removed', false);
    case 'Punctuation':
      return new RegexSplit(/[!-/:-@[-`{-~\p{P}]/gu, behavior(r, obj['behavior'], `${path}.behavior`, 'Isolated'), false);
    case 'BertPreTokenizer':
      return new SequencePre([
        new RegexSplit(/\p{White_Space}/gu, 'Removed', false),
        new RegexSplit(/[!-/:-@[-`{-~\p{P}]/gu, 'Isolated', false),
      ]);
    case 'Metaspace': {
      const replacement = r.string(obj['replacement'] ?? '\u2581', `${path}.replacement`);
      let scheme: 'always' | 'first' | 'never';
      const ps = obj['prepend_scheme'];
      if (ps === undefined || ps === null) {
        scheme = r.bool(obj['add_prefix_space'], `${path}.add_prefix_space`, true) ? 'always' : 'never';
      } else {
        const s = r.string(ps, `${path}.prepend_scheme`);
        if (s !== 'always' && s !== 'first' && s !== 'never') r.fail(`${path}.prepend_scheme`, `unknown prepend_scheme "${s}" (supported: always, first, never)`);
        scheme = s;
      }
      return new Metaspace(replacement, scheme, r.bool(obj['split'], `${path}.split`, true));
    }
  }
  return r.fail(path, `unhandled pre-tokenizer type "${type}"`);
}
