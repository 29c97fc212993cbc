/**
 * Translation of Oniguruma (Ruby syntax) patterns, as the Hugging Face `tokenizers` crate compiles
 * them, into JavaScript RegExp source with the `u` flag.
 *
 * Differences handled:
 * - `\s \d \w \h \b` are Unicode-aware in Oniguruma (`\s` = TAB..CR, U+0085, Zl, Zp, Zs; `\d` = Nd;
 *   `\w` = L, M, Nd, Pc); JavaScript's are ASCII (and its `\s` adds U+FEFF, lacks U+0085).
 * - Inline modifiers `(?i:...)`, `(?i)`, `(?m)`, `(?x)`, `(?-i)` do not exist in Node 20's RegExp:
 *   case-insensitivity is expanded into character classes (`s` → `[sSſ]`, by Unicode simple case
 *   folding); `m` (Ruby's dot-all) changes what `.` becomes; `x` drops whitespace and comments.
 * - Ruby's `^`/`$` are line anchors (only `\n` ends a line), `.` excludes only `\n`.
 * - Atomic groups `(?>...)` and possessive `*+ ++ ?+` become `(?=(...))\N`.
 * - Capturing groups become non-capturing (only match offsets are used).
 * - A `{` that is not a quantifier is a literal; `{,n}` means `{0,n}`.
 * - Negated escapes inside classes (`[^\S...]`) are rewritten with lookaheads.
 * Not supported (an error names the construct): backreferences, `\G`, `\K`, `\X`, absent operator,
 * class intersection `&&`. Multi-character case folds (`ss` ≡ `ß`) are not expanded.
 */

const WS = '\\t-\\r\\x85\\u2028\\u2029\\p{Zs}';
const WORD = '\\p{L}\\p{M}\\p{Nd}\\p{Pc}';
const DIGIT = '\\p{Nd}';
const HEX = '0-9A-Fa-f';

/** POSIX bracket names, Unicode meaning as Oniguruma defines them. */
const POSIX: Record<string, string> = {
  alnum: '\\p{L}\\p{M}\\p{Nd}',
  alpha: '\\p{L}\\p{M}',
  ascii: '\\x00-\\x7f',
  blank: '\\t\\p{Zs}',
  cntrl: '\\p{Cc}\\p{Cf}\\p{Cn}\\p{Co}\\p{Cs}',
  digit: DIGIT,
  lower: '\\p{Ll}',
  punct: '\\p{P}$+<=>^`|~',
  space: WS,
  upper: '\\p{Lu}',
  xdigit: HEX,
  word: WORD,
};

export class RegexSyntaxError extends Error {
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(`regex ${JSON.stringify(pattern)}: ${reason}`);
    this.name = 'RegexSyntaxError';
  }
}

interface Flags {
  i: boolean;
  m: boolean;
  x: boolean;
}

interface ClassSet {
  /** JS class body of included characters. */
  pos: string;
  /** JS class bodies whose complements are included (from `\S`, `\W`, nested negated classes). */
  neg: string[];
}

type Atom =
  | { kind: 'char'; cp: number }
  | { kind: 'set'; set: ClassSet }
  | { kind: 'raw'; js: string; quantifiable: boolean };

const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));

function hex(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

/** A code point as a JS pattern literal outside a class. */
function litOut(cp: number): string {
  const c = String.fromCodePoint(cp);
  if (SYNTAX.has(c)) return '\\' + c;
  if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) || (cp >= 0xd800 && cp <= 0xdfff) || cp === 0x2028 || cp === 0x2029) {
    return hex(cp);
  }
  return c;
}

/** A code point as a JS pattern literal inside a class. */
function litIn(cp: number): string {
  const c = String.fromCodePoint(cp);
  if (c === '\\' || c === ']' || c === '[' || c === '^' || c === '-') return '\\' + c;
  if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) || (cp >= 0xd800 && cp <= 0xdfff) || cp === 0x2028 || cp === 0x2029) {
    return hex(cp);
  }
  return c;
}

let foldGroups: Map<string, number[]> | null = null;

function foldKey(s: string): string {
  return s.toUpperCase().toLowerCase();
}

/** All code points equal to `cp` under Unicode simple case folding (including `cp`). */
export function caseVariants(cp: number): number[] {
  if (!foldGroups) {
    foldGroups = new Map();
    for (let x = 0; x <= 0x1ffff; x++) {
      if (x >= 0xd800 && x <= 0xdfff) continue;
      const s = String.fromCodePoint(x);
      if (s.toUpperCase() === s && s.toLowerCase() === s) continue;
      const k = foldKey(s);
      const g = foldGroups.get(k);
      if (g) g.push(x);
      else foldGroups.set(k, [x]);
    }
  }
  const s = String.fromCodePoint(cp);
  const g = foldGroups.get(foldKey(s));
  if (!g) return [cp];
  return g.includes(cp) ? g : [cp, ...g];
}

function propertyBody(name: string, pattern: string): string {
  const tryCompile = (body: string): boolean => {
    try {
      new RegExp(`[${body}]`, 'u');
      return true;
    } catch {
      return false;
    }
  };
  const clean = name.replace(/[\s_-]/g, '');
  for (const candidate of [name, clean, `Script=${name}`, `Script=${clean}`]) {
    const body = `\\p{${candidate}}`;
    if (tryCompile(body)) return body;
  }
  const posix = POSIX[clean.toLowerCase()];
  if (posix !== undefined) return posix;
  // JS names General_Category values in their long form without spaces too; try TitleCase.
  const title = name
    .split(/[\s_-]+/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase())
    .join('_');
  if (tryCompile(`\\p{${title}}`)) return `\\p{${title}}`;
  throw new RegexSyntaxError(pattern, `unknown Unicode property \\p{${name}}`);
}

class Translator {
  private readonly cps: number[];
  private i = 0;
  private captures = 0;

  constructor(private readonly pattern: string) {
    this.cps = Array.from(pattern, (c) => c.codePointAt(0)!);
  }

  private err(reason: string): never {
    throw new RegexSyntaxError(this.pattern, `${reason} (at offset ${this.i})`);
  }

  private peek(k = 0): string | undefined {
    const cp = this.cps[this.i + k];
    return cp === undefined ? undefined : String.fromCodePoint(cp);
  }

  translate(): string {
    const out = this.alternation({ i: false, m: false, x: false });
    if (this.i < this.cps.length) this.err('unmatched ")"');
    return out;
  }

  /** Parses alternatives until `)` (not consumed) or the end. `flags` is owned by this group. */
  private alternation(flags: Flags): string {
    let out = '';
    let atomStart = -1;
    let quantified = false;
    let capturesAtAtom = 0;
    const n = this.cps.length;
    while (this.i < n) {
      const c = this.peek()!;
      if (c === ')') break;
      if (c === '|') {
        out += '|';
        this.i++;
        atomStart = -1;
        continue;
      }
      if (flags.x && /\s/u.test(c)) {
        this.i++;
        continue;
      }
      if (flags.x && c === '#') {
        while (this.i < n && this.peek() !== '\n') this.i++;
        continue;
      }
      const q = this.quantifier();
      if (q !== null) {
        if (atomStart < 0) this.err(`quantifier "${q}" has nothing to repeat`);
        if (quantified) {
          out = out.slice(0, atomStart) + '(?:' + out.slice(atomStart) + ')';
        }
        const next = this.peek();
        if (next === '?') {
          out += q + '?';
          this.i++;
        } else if (next === '+' && (q === '*' || q === '+' || q === '?')) {
          // Possessive: match greedily once and never give back.
          this.i++;
          if (this.captures !== capturesAtAtom) this.err('possessive quantifier on an atom with an atomic group');
          const k = ++this.captures;
          out = out.slice(0, atomStart) + `(?=(${out.slice(atomStart)}${q}))\\${k}`;
        } else {
          out += q;
        }
        quantified = true;
        continue;
      }
      const before = out.length;
      const capBefore = this.captures;
      const piece = this.atom(flags);
      if (piece === null) {
        // an inline flag group `(?i)` or a comment: nothing to quantify
        atomStart = -1;
        continue;
      }
      out += piece.js;
      atomStart = piece.quantifiable ? before : -1;
      capturesAtAtom = capBefore;
      quantified = false;
    }
    return out;
  }

  /** A quantifier at the cursor (consumed), or null. */
  private quantifier(): string | null {
    const c = this.peek();
    if (c === '*' || c === '+' || c === '?') {
      this.i++;
      return c;
    }
    if (c !== '{') return null;
    let j = this.i + 1;
    let lo = '';
    let hi = '';
    let comma = false;
    const cps = this.cps;
    while (j < cps.length && cps[j]! >= 48 && cps[j]! <= 57) lo += String.fromCodePoint(cps[j++]!);
    if (cps[j] === 44) {
      comma = true;
      j++;
      while (j < cps.length && cps[j]! >= 48 && cps[j]! <= 57) hi += String.fromCodePoint(cps[j++]!);
    }
    if (cps[j] !== 125) return null;
    if (lo === '' && hi === '') return null;
    this.i = j + 1;
    if (!comma) return `{${lo}}`;
    return `{${lo === '' ? '0' : lo},${hi}}`;
  }

  private atom(flags: Flags): { js: string; quantifiable: boolean } | null {
    const c = this.peek()!;
    if (c === '(') return this.group(flags);
    if (c === '[') {
      const set = this.charClass(flags);
      return { js: classToJs(set.set, set.negated), quantifiable: true };
    }
    if (c === '\\') {
      const a = this.escape(false);
      return { js: this.atomJs(a, flags), quantifiable: a.kind !== 'raw' || a.quantifiable };
    }
    this.i++;
    if (c === '.') return { js: flags.m ? '[\\s\\S]' : '[^\\n]', quantifiable: true };
    if (c === '^') return { js: '(?<![^\\n])', quantifiable: false };
    if (c === '$') return { js: '(?![^\\n])', quantifiable: false };
    const cp = c.codePointAt(0)!;
    return { js: this.atomJs({ kind: 'char', cp }, flags), quantifiable: true };
  }

  private atomJs(a: Atom, flags: Flags): string {
    if (a.kind === 'raw') return a.js;
    if (a.kind === 'set') return classToJs(a.set, false);
    if (flags.i) {
      const vs = caseVariants(a.cp);
      if (vs.length > 1) return '[' + vs.map(litIn).join('') + ']';
    }
    return litOut(a.cp);
  }

  private group(flags: Flags): { js: string; quantifiable: boolean } | null {
    this.i++; // (
    let open = '(?:';
    let close = ')';
    let quantifiable = true;
    let inner: Flags = { ...flags };
    if (this.peek() === '?') {
      this.i++;
      const c = this.peek();
      if (c === ':') {
        this.i++;
      } else if (c === '=' || c === '!') {
        this.i++;
        open = `(?${c}`;
        quantifiable = false;
      } else if (c === '<' && (this.peek(1) === '=' || this.peek(1) === '!')) {
        open = `(?<${this.peek(1)}`;
        this.i += 2;
        quantifiable = false;
      } else if (c === '>') {
        this.i++;
        const k = ++this.captures;
        open = '(?=(';
        close = `))\\${k}`;
      } else if (c === '<' || c === "'" || (c === 'P' && this.peek(1) === '<')) {
        if (c === 'P') this.i++;
        const end = c === "'" ? "'" : '>';
        this.i++;
        while (this.i < this.cps.length && this.peek() !== end) this.i++;
        if (this.peek() !== end) this.err('unterminated group name');
        this.i++;
      } else if (c === '#') {
        while (this.i < this.cps.length && this.peek() !== ')') this.i++;
        if (this.peek() !== ')') this.err('unterminated comment group');
        this.i++;
        return null;
      } else if (c !== undefined && /[imx-]/.test(c)) {
        let on = true;
        const target: Flags = { ...flags };
        for (;;) {
          const f = this.peek();
          if (f === '-') on = false;
          else if (f === 'i' || f === 'm' || f === 'x') target[f] = on;
          else break;
          this.i++;
        }
        const f = this.peek();
        if (f === ')') {
          // `(?i)`: applies to the rest of the enclosing group
          this.i++;
          flags.i = target.i;
          flags.m = target.m;
          flags.x = target.x;
          return null;
        }
        if (f !== ':') this.err(`unsupported group modifier "(?${c}"`);
        this.i++;
        inner = target;
      } else {
        this.err(`unsupported group "(?${c ?? ''}"`);
      }
    }
    const body = this.alternation(inner);
    if (this.peek() !== ')') this.err('missing ")"');
    this.i++;
    return { js: open + body + close, quantifiable };
  }

  /** Parses `\...` at the cursor. Inside a class, `\b` is backspace and assertions are errors. */
  private escape(inClass: boolean): Atom {
    this.i++; // backslash
    const c = this.peek();
    if (c === undefined) this.err('pattern ends with a backslash');
    this.i++;
    const set = (pos: string, neg: string[] = []): Atom => ({ kind: 'set', set: { pos, neg } });
    const ch = (cp: number): Atom => ({ kind: 'char', cp });
    const raw = (js: string, quantifiable = false): Atom => {
      if (inClass) this.err(`"\\${c}" is not allowed in a character class`);
      return { kind: 'raw', js, quantifiable };
    };
    switch (c) {
      case 'd':
        return set(DIGIT);
      case 'D':
        return set('', [DIGIT]);
      case 'w':
        return set(WORD);
      case 'W':
        return set('', [WORD]);
      case 's':
        return set(WS);
      case 'S':
        return set('', [WS]);
      case 'h':
        return set(HEX);
      case 'H':
        return set('', [HEX]);
      case 'p':
      case 'P': {
        let name: string;
        if (this.peek() === '{') {
          const end = this.cps.indexOf(125, this.i);
          if (end < 0) this.err('unterminated \\p{');
          name = String.fromCodePoint(...this.cps.slice(this.i + 1, end));
          this.i = end + 1;
        } else {
          name = this.peek() ?? '';
          this.i++;
        }
        let negate = c === 'P';
        if (name.startsWith('^')) {
          negate = !negate;
          name = name.slice(1);
        }
        const body = propertyBody(name, this.pattern);
        if (!negate) return set(body);
        const single = /^\\p\{[^}]+\}$/.exec(body);
        return single ? set('\\P' + body.slice(2)) : set('', [body]);
      }
      case 'x': {
        if (this.peek() === '{') {
          const end = this.cps.indexOf(125, this.i);
          if (end < 0) this.err('unterminated \\x{');
          const h = String.fromCodePoint(...this.cps.slice(this.i + 1, end));
          this.i = end + 1;
          const cp = parseInt(h, 16);
          if (!/^[0-9a-fA-F]+$/.test(h) || cp > 0x10ffff) this.err(`bad \\x{${h}}`);
          return ch(cp);
        }
        let h = '';
        while (h.length < 2 && /[0-9a-fA-F]/.test(this.peek() ?? '')) {
          h += this.peek();
          this.i++;
        }
        if (!h) this.err('bad \\x escape');
        return ch(parseInt(h, 16));
      }
      case 'u': {
        let h = '';
        while (h.length < 4 && /[0-9a-fA-F]/.test(this.peek() ?? '')) {
          h += this.peek();
          this.i++;
        }
        if (h.length !== 4) this.err('bad \\u escape');
        return ch(parseInt(h, 16));
      }
      case '0': {
        let o = '';
        while (o.length < 2 && /[0-7]/.test(this.peek() ?? '')) {
          o += this.peek();
          this.i++;
        }
        return ch(o ? parseInt(o, 8) : 0);
      }
      case 'n':
        return ch(10);
      case 't':
        return ch(9);
      case 'r':
        return ch(13);
      case 'f':
        return ch(12);
      case 'v':
        return ch(11);
      case 'a':
        return ch(7);
      case 'e':
        return ch(27);
      case 'b':
        if (inClass) return ch(8);
        return raw(`(?:(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}]))`);
      case 'B':
        return raw(`(?:(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}]))`);
      case 'A':
        return raw('(?<![\\s\\S])');
      case 'z':
        return raw('(?![\\s\\S])');
      case 'Z':
        return raw('(?=\\n?(?![\\s\\S]))');
      case 'R':
        return raw('(?:\\r\\n|[\\n\\v\\f\\r\\x85\\u2028\\u2029])', true);
      default:
        break;
    }
    if (/[0-9]/.test(c)) this.err(`backreference "\\${c}" is not supported`);
    if (/[a-zA-Z]/.test(c)) this.err(`escape "\\${c}" is not supported`);
    return ch(c.codePointAt(0)!);
  }

  /** Parses `[...]` at the cursor. */
  private charClass(flags: Flags): { set: ClassSet; negated: boolean } {
    this.i++; // [
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.i++;
    }
    const set: ClassSet = { pos: '', neg: [] };
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.err('unterminated character class');
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      if (c === '[') {
        if (this.peek(1) === ':') {
          const rest = String.fromCodePoint(...this.cps.slice(this.i, this.i + 16));
          const m = /^\[:(\^?)([a-z]+):\]/.exec(rest);
          if (m) {
            this.i += m[0].length;
            const body = POSIX[m[2]!];
            if (body === undefined) this.err(`unsupported POSIX class [:${m[2]}:]`);
            if (m[1]) set.neg.push(body);
            else set.pos += body;
            continue;
          }
        }
        const nested = this.charClass(flags);
        if (nested.negated) {
          if (nested.set.neg.length) this.err('nested negated class with negated escapes is not supported');
          set.neg.push(nested.set.pos || '\\s\\S');
        } else {
          set.pos += nested.set.pos;
          set.neg.push(...nested.set.neg);
        }
        continue;
      }
      if (c === '&' && this.peek(1) === '&') this.err('class intersection "&&" is not supported');
      const a = this.classAtom();
      if (a.kind === 'set') {
        set.pos += a.set.pos;
        set.neg.push(...a.set.neg);
        continue;
      }
      if (a.kind !== 'char') this.err('unexpected assertion in class');
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined) {
        this.i++;
        const b = this.classAtom();
        if (b.kind !== 'char') this.err('bad range in character class');
        if (b.cp < a.cp) this.err('range out of order in character class');
        set.pos += rangeBody(a.cp, b.cp, flags.i);
      } else {
        set.pos += flags.i ? caseVariants(a.cp).map(litIn).join('') : litIn(a.cp);
      }
    }
    return { set, negated };
  }

  private classAtom(): Atom {
    if (this.peek() === '\\') return this.escape(true);
    const cp = this.cps[this.i++]!;
    return { kind: 'char', cp };
  }
}

function rangeBody(a: number, b: number, ic: boolean): string {
  let body = a === b ? litIn(a) : `${litIn(a)}-${litIn(b)}`;
  if (ic && b - a <= 0x4000) {
    const extra = new Set<number>();
    for (let x = a; x <= b; x++) {
      if (x >= 0xd800 && x <= 0xdfff) continue;
      for (const v of caseVariants(x)) if (v < a || v > b) extra.add(v);
    }
    for (const v of extra) body += litIn(v);
  }
  return body;
}

function classToJs(set: ClassSet, negated: boolean): string {
  const { pos, neg } = set;
  if (!negated) {
    const alts: string[] = [];
    if (pos) alts.push(`[${pos}]`);
    for (const x of neg) alts.push(`[^${x}]`);
    if (alts.length === 0) return '[^\\s\\S]';
    return alts.length === 1 ? alts[0]! : `(?:${alts.join('|')})`;
  }
  // complement of (pos ∪ ¬x1 ∪ ¬x2 …) = ¬pos ∩ x1 ∩ x2 …
  if (neg.length === 0) return pos ? `[^${pos}]` : '[\\s\\S]';
  const ahead = neg
    .slice(1)
    .map((x) => `(?=[${x}])`)
    .join('');
  return `(?:${pos ? `(?![${pos}])` : ''}${ahead}[${neg[0]}])`;
}

/** Oniguruma pattern → JavaScript RegExp source (for the `u` flag). */
export function onigToJs(pattern: string): string {
  return new Translator(pattern).translate();
}

/** Compiles an Oniguruma pattern to a global Unicode JavaScript RegExp. */
export function compileOnig(pattern: string): RegExp {
  const src = onigToJs(pattern);
  try {
    return new RegExp(src, 'gu');
  } catch (e) {
    throw new RegexSyntaxError(pattern, `cannot be compiled in JavaScript (${(e as Error).message})`);
  }
}

/** A global Unicode RegExp matching `literal` exactly. */
export function literalRegex(literal: string): RegExp {
  return new RegExp(Array.from(literal, (c) => litOut(c.codePointAt(0)!)).join(''), 'gu');
}

/**
 * The matches of `re` (global) in `s` as (start, end, isMatch) triples covering all of `s`, as the
 * crate's `Pattern::find_matches` reports them (empty input → one empty non-match).
 */
export function findMatches(re: RegExp, s: string, out: number[]): void {
  out.length = 0;
  if (s.length === 0) {
    out.push(0, 0, 0);
    return;
  }
  let prev = 0;
  re.lastIndex = 0;
  for (;;) {
    const m = re.exec(s);
    if (m === null) break;
    const start = m.index;
    const end = start + m[0].length;
    if (prev !== start) out.push(prev, start, 0);
    out.push(start, end, 1);
    prev = end;
    if (end === start) {
      // empty match: step over one code point, as the crate's find_iter does
      const cp = s.codePointAt(end);
      re.lastIndex = end + (cp !== undefined && cp > 0xffff ? 2 : 1);
      if (end >= s.length) break;
    }
  }
  if (prev !== s.length) out.push(prev, s.length, 0);
}
