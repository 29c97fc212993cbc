import { describe, expect, it } from 'vitest';
import { readDocuments } from '../../src/core/data/documents.ts';
import { documentWindows, windowsOf } from '../../src/core/data/documents-chunk.ts';
import { packExamples } from '../../src/core/data/packing.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('raw documents for continued pre-training', () => {
  it('a .txt or .md file is one document; a .jsonl file one per line with its line number', () => {
    expect(readDocuments('a.md', bytes('# Title\n\nBody.\n'))).toEqual([{ text: '# Title\n\nBody.\n', source: { file: 'a.md', line: 1 } }]);
    const docs = readDocuments('d.jsonl', bytes('{"text": "one"}\n\n{"text": "two", "id": 7}\r\n'));
    expect(docs).toEqual([{ text: 'one', source: { file: 'd.jsonl', line: 1 } }, { text: 'two', source: { file: 'd.jsonl', line: 3 } }]);
  });

  it('bad input is one error naming the file and line', () => {
    expect(() => readDocuments('empty.txt', new Uint8Array(0))).toThrow(/^empty\.txt: the file is empty$/);
    expect(() => readDocuments('blank.md', bytes('  \n\n'))).toThrow(/^blank\.md: the file holds only whitespace$/);
    expect(() => readDocuments('bin.txt', new Uint8Array([65, 10, 66, 10, 0, 1, 2]))).toThrow(/^bin\.txt: line 3: a binary file \(a NUL byte\)/);
    const latin1 = new Uint8Array([...bytes('ok\nstill ok\ncaf'), 0xe9, 10]);
    expect(() => readDocuments('l1.txt', latin1)).toThrow(/^l1\.txt: line 3: not UTF-8 text/);
    expect(() => readDocuments('d.jsonl', bytes('{"text": "a"}\n{"body": "b"}\n'))).toThrow(/^d\.jsonl: line 2: no "text" field/);
    expect(() => readDocuments('d.jsonl', bytes('{"text": "a"}\n{"text": 3}\n'))).toThrow(/^d\.jsonl: line 2: no "text" field/);
    expect(() => readDocuments('d.jsonl', bytes('{"text": "a"}\n\n{"text": "b"\n'))).toThrow(/^d\.jsonl: line 3: not JSON/);
    expect(() => readDocuments('d.jsonl', bytes('{"text": " "}\n'))).toThrow(/^d\.jsonl: line 1: the "text" field is empty/);
    expect(() => readDocuments('d.pdf', bytes('text'))).toThrow(/^d\.pdf: not a document file/);
  });

  it('windows: a short document is one window; a long one is cut with the stated stride and overlap', () => {
    expect(windowsOf([1, 2, 3], { seq: 4, overlap: 0, eosId: 0 })).toEqual([{ inputIds: [1, 2, 3], labels: [1, 2, 3] }]);
    const ids = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(windowsOf(ids, { seq: 4, overlap: 0, eosId: 0 }).map((w) => w.inputIds)).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]);
    // overlap 2: stride 2; the repeated tokens are context, not targets again
    const over = windowsOf(ids, { seq: 4, overlap: 2, eosId: 0 });
    expect(over.map((w) => w.inputIds)).toEqual([[1, 2, 3, 4], [3, 4, 5, 6], [5, 6, 7, 8], [7, 8, 9, 10]]);
    expect(over[1]!.labels).toEqual([-100, -100, 5, 6]);
    // every token after the first is a target exactly once
    const scored = over.flatMap((w) => w.labels.filter((l, k) => k > 0 && l !== -100));
    expect(scored).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(() => windowsOf(ids, { seq: 4, overlap: 4, eosId: 0 })).toThrow(/overlap must be a whole number of tokens in \[0, 4\)/);
  });

  it('each document ends with EOS; packed rows never let one document attend to another', () => {
    const tok = { encode: (t: string) => [...t].map((c) => c.charCodeAt(0)) };
    const docs = [{ text: 'abc', source: { file: 'x', line: 1 } }, { text: 'defgh', source: { file: 'x', line: 2 } }];
    const w = documentWindows(docs, tok, { seq: 4, overlap: 0, eosId: 9 });
    expect(w.windows.map((x) => x.inputIds)).toEqual([[97, 98, 99, 9], [100, 101, 102, 103], [104, 9]]);
    expect(w.tokens).toBe(10);
    expect(w.targets).toBe(3 + 3 + 1);
    const packed = packExamples(w.windows, 8, { padId: 0 });
    for (const row of packed.sequences) {
      // a segment change is where a window starts: its first token is not a target
      row.segments.forEach((s, k) => {
        if (k > 0 && s !== row.segments[k - 1]) expect(row.labels[k]).toBe(-100);
      });
    }
  });
});
