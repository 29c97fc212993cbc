import type { JsonReader } from './config.ts';
import { BYTE_TO_CHAR, toByteChars, utf8At } from './bytelevel.ts';
import { compileOnig, findMatches } from './regex.ts';
import { patternRegex } from './normalizers.ts';
import { BEHAVIORS, PieceBuilder, cpLen, prepend, splitPiece, sub, type Piece, type SplitBehavior } from './pieces.ts';

export type Emit = (p: Piece) => void;

/**
 * A pre-tokenizer of the `tokenizers` crate: splits (and may rewrite) a piece, handing each
 * resulting piece, in order, to `emit` (streaming, so a long text makes no large intermediates).
 */
export interface PreTokenizer {
  split(p: Piece, emit: Emit): void;
}

/** All pieces `pt` makes of `pieces`. */
export function preTokenizeAll(pt: PreTokenizer, pieces: Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const p of pieces) pt.split(p, (q) => out.push(q));
  return out;
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
const W = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';
const WHITESPACE_WORDS = new RegExp(`[${W}]+|[^${W}\\p{White_Space}]+`, 'gu');

/** Splits pieces on the matches of a regex. */
class RegexSplit implements PreTokenizer {
  private readonly re: RegExp;
  constructor(
    re: RegExp,
    private readonly behavior: SplitBehavior,
    private readonly invert: boolean,
  ) {
    this.re = new RegExp(re.source, re.flags); // own lastIndex
  }
  split(p: Piece, emit: Emit): void {
    if (this.behavior === 'Isolated') {
      // every match and every gap is a piece (invert changes nothing)
      const { re } = this;
      const s = p.s;
      re.lastIndex = 0;
      let prev = 0;
      for (;;) {
        const m = re.exec(s);
        if (m === null) break;
        const a = m.index;
        const b = a + m[0].length;
        if (b === a) {
          // an empty match still ends the gap before it, as in the crate's find_matches
          if (prev < a) emit(sub(p, prev, a));
          prev = a;
          if (a >= s.length) break;
          re.lastIndex = a + cpLen(s, a);
          continue;
        }
        if (prev < a) emit(sub(p, prev, a));
        emit(sub(p, a, b));
        prev = b;
      }
      if (prev < s.length) emit(sub(p, prev, s.length));
      return;
    }
    const m: number[] = [];
    const out: Piece[] = [];
    findMatches(this.re, p.s, m);
    splitPiece(p, m, this.behavior, this.invert, out);
    for (const q of out) emit(q);
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
  private readonly regex: RegexSplit | null;
  constructor(
    private readonly addPrefixSpace: boolean,
    useRegex: boolean,
  ) {
    this.regex = useRegex ? new RegexSplit((gpt2Regex ??= compileOnig(GPT2_PATTERN)), 'Isolated', false) : null;
  }
  split(p: Piece, emit: Emit): void {
    if (this.addPrefixSpace && !p.s.startsWith(' ')) p = prepend(p, ' ');
    if (this.regex) this.regex.split(p, (q) => emit(byteLevelPiece(q)));
    else emit(byteLevelPiece(p));
  }
}

class Metaspace implements PreTokenizer {
  private readonly splitter: RegexSplit;
  constructor(
    private readonly replacement: string,
    private readonly scheme: 'always' | 'first' | 'never',
    private readonly splitOnReplacement: boolean,
  ) {
    this.splitter = new RegexSplit(new RegExp(replacement.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'), 'gu'), 'MergedWithNext', false);
  }
  split(p: Piece, emit: Emit): void {
    const rep = this.replacement;
    let q = p.s.includes(' ') ? replaceSpaces(p, rep) : p;
    if (!q.s.startsWith(rep) && (this.scheme === 'always' || (this.scheme === 'first' && q.first))) q = prepend(q, rep);
    if (this.splitOnReplacement) this.splitter.split(q, emit);
    else emit(q);
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
  split(p: Piece, emit: Emit): void {
    this.stage(0, p, emit);
  }
  private stage(i: number, p: Piece, emit: Emit): void {
    if (i === this.items.length) emit(p);
    else this.items[i]!.split(p, (q) => this.stage(i + 1, q, emit));
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
      // The crate uses the `regex` crate here: Unicode \w (Alphabetic, M, Nd, Pc, Join_Control) and \s (White_Space).
      return new RegexSplit(WHITESPACE_WORDS, 'Removed', true);
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
        if (s !== 'always' && s !== 'first' && s !== 'never') {
          r.fail(`${path}.prepend_scheme`, `unknown prepend_scheme "${s}" (supported: always, first, never)`);
        }
        scheme = s;
      }
      return new Metaspace(replacement, scheme, r.bool(obj['split'], `${path}.split`, true));
    }
  }
  return r.fail(path, `unhandled pre-tokenizer type "${type}"`);
}
