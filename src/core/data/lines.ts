/**
 * The lines of a JSONL file, decoded one at a time: one line that is not UTF-8, or that is too
 * long, is a problem of that line, and the whole file is never decoded into one string.
 */
import { count, oversizeReason } from './record-size.ts';

export interface Line {
  /** 1-based line number. */
  readonly line: number;
  /** The line's text, or why it cannot be read. */
  readonly text: string | { readonly problem: string };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export function* jsonlLines(input: string | Uint8Array, maxChars: number): Generator<Line> {
  if (typeof input === 'string') {
    let n = 0;
    for (const text of (input.charCodeAt(0) === 0xfeff ? input.slice(1) : input).split('\n')) {
      n++;
      yield { line: n, text: text.length > maxChars ? { problem: oversizeReason(`${count(text.length)} characters`, maxChars) } : text };
    }
    return;
  }
  // a UTF-8 byte order mark is not part of the first line
  let start = input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf ? 3 : 0;
  for (let n = 1; start <= input.length; n++) {
    let end = input.indexOf(0x0a, start);
    if (end < 0) end = input.length;
    yield { line: n, text: decodeLine(input.subarray(start, end), maxChars) };
    start = end + 1;
  }
}

function decodeLine(bytes: Uint8Array, maxChars: number): Line['text'] {
  // a UTF-8 character of 1-3 bytes is one UTF-16 unit and of 4 bytes two, so a line longer than
  // three bytes per allowed character is over the limit whatever it holds
  if (bytes.length > 3 * maxChars) return { problem: oversizeReason(`${count(bytes.length)} bytes`, maxChars) };
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { problem: `is not UTF-8 text (byte ${firstBadByte(bytes) + 1} of the line); the other lines are read` };
  }
  return text.length > maxChars ? { problem: oversizeReason(`${count(text.length)} characters`, maxChars) } : text;
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstBadByte(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > b.length) return i;
    try {
      decoder.decode(b.subarray(i, i + len));
    } catch {
      return i;
    }
    i += len;
  }
  return 0;
}
