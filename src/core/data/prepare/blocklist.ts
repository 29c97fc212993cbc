/**
 * A user-editable list of terms or phrases to flag or remove (harmful, biased, or simply
 * off-topic words). Matching is case-insensitive, Unicode-aware, on whole words; a phrase
 * matches across any whitespace. Scripts written without spaces between words (Chinese,
 * Japanese, Thai, Lao, Khmer, Myanmar) have no word edges to test, so a term in them matches
 * anywhere in the text.
 */
export interface BlocklistMatch {
  readonly term: string;
  readonly start: number;
  readonly end: number;
}

const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

export class Blocklist {
  private readonly patterns: { term: string; re: RegExp }[];

  constructor(terms: readonly string[]) {
    const clean = [...new Set(terms.map((t) => t.trim()).filter(Boolean))];
    this.patterns = clean.map((term) => {
      const body = term.split(/\s+/u).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s+');
      const edge = UNSPACED.test(term) ? ['', ''] : ['(?<![\\p{L}\\p{N}_])', '(?![\\p{L}\\p{N}_])'];
      return { term, re: new RegExp(`${edge[0]}${body}${edge[1]}`, 'giu') };
    });
  }

  /** Terms of a text, one line per entry; blank lines and lines starting with # are ignored. */
  static parse(text: string): Blocklist {
    return new Blocklist(text.split(/\r?\n/).filter((l) => !l.trim().startsWith('#')));
  }

  get size(): number {
    return this.patterns.length;
  }

  find(text: string): BlocklistMatch[] {
    const out: BlocklistMatch[] = [];
    for (const { term, re } of this.patterns) {
      for (const m of text.matchAll(re)) out.push({ term, start: m.index!, end: m.index! + m[0].length });
    }
    return out.sort((a, b) => a.start - b.start);
  }
}
