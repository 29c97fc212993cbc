import { describe, expect, it } from 'vitest';
import { jsonlObjects } from '../../src/core/eval/jsonl-objects.ts';
import { parseGroundedFile } from '../../src/core/eval/grounded.ts';
import { parseSafetyFile } from '../../src/core/eval/safety.ts';
import { expectInputError } from './expect-input-error.ts';

describe('benchmark JSONL records', () => {
  it('one object per non-blank line, with its line number (a BOM and CRLF are not part of the records)', () => {
    const got = jsonlObjects('\uFEFF{"a":1}\r\n\r\n  \n{"b":2}\n', 'f.jsonl');
    expect(got).toEqual([{ line: 1, where: 'line 1', value: { a: 1 } }, { line: 4, where: 'line 4', value: { b: 2 } }]);
  });

  it('a bad line is one error naming it, in every parser that reads them', () => {
    for (const parse of [(t: string) => jsonlObjects(t, 'f.jsonl'), (t: string) => parseGroundedFile(t, 'f.jsonl'), (t: string) => parseSafetyFile(t, 'f.jsonl')]) {
      expectInputError(() => parse('\n{"a":'), 'f.jsonl', 'line 2', /not valid JSON/);
      expectInputError(() => parse('[1, 2]'), 'f.jsonl', 'line 1', /expected a JSON object/);
    }
    expectInputError(() => jsonlObjects(`{"a":"${'x'.repeat(50)}"}`, 'f.jsonl', 20), 'f.jsonl', 'line 1', /the record has 58 characters; at most 20/);
  });
});
