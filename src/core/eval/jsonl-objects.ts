/**
 * The records of a benchmark JSONL file (grounded answers, safety prompts): one JSON object per
 * non-blank line. A line that is too long, not JSON or not an object is one error naming it.
 */
import { InputError } from '../errors.ts';

export interface JsonlObject {
  /** 1-based line number, and the same as errors name it (`line N`). */
  readonly line: number;
  readonly where: string;
  readonly value: Record<string, unknown>;
}

export function jsonlObjects(text: string, file: string, maxChars = Infinity): JsonlObject[] {
  const out: JsonlObject[] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((l, i) => {
    if (!l.trim()) return;
    const where = `line ${i + 1}`;
    if (l.length > maxChars) throw new InputError(file, `the record has ${l.length} characters; at most ${maxChars} are scored`, where);
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch (e) {
      throw new InputError(file, `not valid JSON (${(e as Error).message})`, where);
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new InputError(file, 'expected a JSON object', where);
    out.push({ line: i + 1, where, value: v as Record<string, unknown> });
  });
  return out;
}
