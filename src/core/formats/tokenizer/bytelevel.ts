/**
 * GPT-2's byte ↔ unicode table: every byte gets a printable character so that byte-level BPE
 * vocabularies are plain strings. Printable Latin-1 bytes (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) map to
 * themselves; the other 68 bytes map to U+0100.. in byte order.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const table: string[] = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return table;
})();

/** Char code → byte, or -1 for characters outside the table (all table chars are < U+0144). */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => (t[c.charCodeAt(0)] = b));
  return t;
})();

/**
 * Writes the UTF-8 bytes of the code point starting at `s[i]` to `out` and returns how many UTF-16
 * units it used (1 or 2). A lone surrogate is encoded as U+FFFD, as TextEncoder does.
 */
export function utf8At(s: string, i: number, out: number[]): number {
  let c = s.charCodeAt(i);
  if (c < 0x80) {
    out.push(c);
    return 1;
  }
  if (c < 0x800) {
    out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    return 1;
  }
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
      return 2;
    }
  }
  if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
  out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  return 1;
}

const scratch: number[] = [];

/** The byte-level form of `s`: one table character per UTF-8 byte. */
export function toByteChars(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      out += BYTE_TO_CHAR[c];
      i++;
      continue;
    }
    scratch.length = 0;
    i += utf8At(s, i, scratch);
    for (const b of scratch) out += BYTE_TO_CHAR[b];
  }
  return out;
}

const lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * UTF-8 bytes → string, each maximal invalid subsequence replaced by U+FFFD (the WHATWG decoder,
 * which is also the rule of Rust's `String::from_utf8_lossy`); a leading BOM is kept.
 */
export function utf8Lossy(bytes: Uint8Array | number[]): string {
  return lossy.decode(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
}
