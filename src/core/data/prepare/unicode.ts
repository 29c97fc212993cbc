/**
 * Text-level cleaning: Unicode normalisation, control characters and whitespace. Each function is
 * pure, string to string, and returns the input unchanged when there is nothing to do.
 */

export type UnicodeForm = 'NFC' | 'NFKC';

/**
 * NFC joins decomposed accents ("e" + U+0301 → "é") and changes nothing visible; NFKC also
 * folds compatibility forms (full-width "ＡＢＣ" → "ABC", "ﬁ" → "fi", "①" → "1"), which helps
 * matching but can change meaning (superscripts, some CJK punctuation).
 */
export function normaliseUnicode(text: string, form: UnicodeForm): string {
  return text.normalize(form);
}

/** Line-breaking controls (VT, FF, NEL) become newlines; they separated lines in their source. */
const BREAKING_CONTROLS = /[\v\f\u0085]/g;
/** C0/C1 controls except tab, newline and carriage return (handled by whitespace repair), plus lone surrogates. */
const CONTROLS = /[\u0000-\u0008\u000E-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function removeControlChars(text: string): string {
  return text.replace(BREAKING_CONTROLS, '\n').replace(CONTROLS, '');
}

export interface WhitespaceOptions {
  /** Keep runs of spaces at the start of lines (code, poetry, lists). Default true. */
  readonly keepIndentation: boolean;
  /** Most empty lines kept in a row. Default 1. */
  readonly maxBlankLines: number;
}

export const DEFAULT_WHITESPACE: WhitespaceOptions = { keepIndentation: true, maxBlankLines: 1 };

const NEWLINES = /\r\n?|[\u2028\u2029\u0085]/g;
/** Zero-width space, word joiner and BOM carry nothing in running text. */
const ZERO_WIDTH = /[\u200B\u2060\uFEFF]/g;
/**
 * ZWNJ/ZWJ are kept where they do work: between letters (Persian, Indic scripts) and inside emoji
 * sequences (👨‍👩‍👧); elsewhere (at word edges, between spaces) they are stray and removed.
 */
const STRAY_JOINERS =
  /(?<![\p{L}\p{M}\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F])[\u200C\u200D]|[\u200C\u200D](?![\p{L}\p{M}\p{Extended_Pictographic}])/gu;
/** Every space separator other than U+0020 (no-break, thin, ideographic...) becomes a plain space. */
const OTHER_SPACES = /[\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/g;
const INNER_SPACE_RUNS = /(?<=\S) {2,}/g;
const ALL_SPACE_RUNS = / {2,}/g;
const TRAILING_PER_LINE = /[ \t]+$/gm;

/** Repairs whitespace inside a text; leaves stripping the ends to the caller (see `stripEnds`). */
export function repairWhitespace(text: string, opts: WhitespaceOptions = DEFAULT_WHITESPACE): string {
  let t = text.replace(NEWLINES, '\n').replace(ZERO_WIDTH, '').replace(STRAY_JOINERS, '').replace(OTHER_SPACES, ' ');
  t = t.replace(opts.keepIndentation ? INNER_SPACE_RUNS : ALL_SPACE_RUNS, ' ').replace(TRAILING_PER_LINE, '');
  const maxNewlines = Math.max(0, opts.maxBlankLines) + 1;
  t = t.replace(new RegExp(`\\n{${maxNewlines + 1},}`, 'g'), '\n'.repeat(maxNewlines));
  return t;
}

/**
 * Strips whitespace at both ends. A completion is appended to its prompt, so its leading
 * whitespace is meaningful: it is shortened to its first character instead of removed.
 */
export function stripEnds(text: string, keepLeadingSeparator: boolean): string {
  if (!keepLeadingSeparator) return text.trim();
  const lead = /^\s/.exec(text);
  const body = text.trim();
  return lead && body !== '' ? lead[0] + body : body;
}
