import { describe, expect, it } from 'vitest';
import { DatasetLibrary } from '../../src/core/workspace/datasets.ts';
import { importDocuments } from '../../src/core/workspace/documents-datasets.ts';
import { MemoryStore } from '../../src/core/workspace/store.ts';

const enc = (s: string) => new TextEncoder().encode(s);

describe('documents as a workspace dataset', () => {
  it('stores every document of several .txt/.md/.jsonl files as a text record that names its file', async () => {
    const lib = new DatasetLibrary(new MemoryStore());
    const meta = await importDocuments(lib, [
      { name: 'handbook.md', bytes: enc('# Handbook\n\nThe valve opens at "4 bar".\nSecond line.\n') },
      { name: 'note.txt', bytes: enc('One plain note.') },
      { name: 'faq.jsonl', bytes: enc('{"text": "Q1 answer"}\n\n{"text": "Q2\\nanswer"}\n') },
    ]);
    expect(meta.name).toBe('handbook.md + 2 more (documents).jsonl');
    expect(meta.records).toBe(4);
    expect(meta.options).toMatchObject({ validationFraction: 0.2, maskPrompt: false, packing: true });
    const records = await lib.records(meta.id);
    expect(records.map((r) => r.record)).toEqual([
      { kind: 'text', text: '# Handbook\n\nThe valve opens at "4 bar".\nSecond line.\n' },
      { kind: 'text', text: 'One plain note.' },
      { kind: 'text', text: 'Q1 answer' },
      { kind: 'text', text: 'Q2\nanswer' },
    ]);
    expect(records.map((r) => r.fields?.file)).toEqual(['handbook.md', 'note.txt', 'faq.jsonl', 'faq.jsonl']);
  });

  it('refuses bad files with the file, the line and the reason', async () => {
    const lib = new DatasetLibrary(new MemoryStore());
    const ok = { name: 'a.txt', bytes: enc('fine') };
    await expect(importDocuments(lib, [ok, { name: 'b.jsonl', bytes: enc('{"text": "x"}\n{"title": "y"}\n') }]))
      .rejects.toThrow('b.jsonl: line 2: no "text" field with a string');
    await expect(importDocuments(lib, [ok, { name: 'c.md', bytes: new Uint8Array([104, 0, 105]) }])).rejects.toThrow('c.md: line 1: a binary file');
    await expect(importDocuments(lib, [{ name: 'd.pdf', bytes: enc('%PDF') }])).rejects.toThrow('d.pdf: not a document file');
    expect(await lib.list()).toEqual([]);
  });
});
