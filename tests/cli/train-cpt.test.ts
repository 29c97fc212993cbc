/**
 * `tabtune train-cpt` through the built CLI: bad documents are one error line naming the file
 * and line (exit 1, nothing written), and a short full fine-tuning run of the last layer on a
 * folder of documents prints the before/after perplexities as JSON and writes cpt_eval.json.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, LLAMA, runCli } from './cli-harness.ts';

const errLines = (s: string) => s.split('\n').filter((l) => l.startsWith('tabtune: '));

/** A folder with the given files. */
function folder(files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tabtune-docs-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

beforeAll(buildCli);

describe('tabtune train-cpt', () => {
  const good = { 'a.md': '# Vellmora\n\nVellmora stands on the river Quist.\n', 'b.txt': 'Ansel Tharrow keeps the green lantern.\n' };
  const cases: [string, Record<string, string | Uint8Array>, RegExp][] = [
    ['an empty file', { 'empty.txt': '' }, /empty\.txt: the file is empty$/],
    ['a binary file', { 'pic.txt': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]) }, /pic\.txt: line 3: a binary file \(a NUL byte\)/],
    ['a JSONL line without text', { 'c.jsonl': '{"text": "fine"}\n{"content": "no text here"}\n' }, /c\.jsonl: line 2: no "text" field/],
  ];
  for (const [what, bad, message] of cases) {
    it(`${what}: one line naming the file (and line), exit 1, nothing written`, () => {
      const docs = folder({ ...good, ...bad });
      const out = join(mkdtempSync(join(tmpdir(), 'tabtune-cpt-')), 'run');
      const r = runCli(['train-cpt', '--model', LLAMA, '--docs', docs, '--out', out, '--steps', '1']);
      expect(r.code).toBe(1);
      expect(errLines(r.stderr)).toEqual([expect.stringMatching(message)]);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('no --docs and a bad --tune are usage errors (exit 2); a folder without documents is an input error', () => {
    const none = runCli(['train-cpt', '--model', LLAMA]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--docs needs the new documents/);
    const empty = folder({ 'notes.pdf': 'x' });
    const r = runCli(['train-cpt', '--model', LLAMA, '--docs', empty]);
    expect(r.code).toBe(1);
    expect(errLines(r.stderr)).toEqual([expect.stringMatching(/the folder holds no \.txt, \.md or \.jsonl documents$/)]);
    const t = runCli(['train-cpt', '--model', LLAMA, '--docs', folder(good), '--tune', 'half']);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/--tune must be one of lora, full, got "half"/);
    const over = runCli(['train-cpt', '--model', LLAMA, '--docs', folder(good), '--max-seq-len', '16', '--overlap', '16']);
    expect(over.code).toBe(2);
    expect(errLines(over.stderr)).toEqual([expect.stringMatching(/--overlap must be below the row length 16/)]);
  });

  it('a short full run of the last layer: before/after perplexities as JSON, cpt_eval.json and changed_tensors.json written', () => {
    const docs = folder({ ...good, 'more.jsonl': ['The lantern is green.', 'Ships sail up the Quist.', 'Tharrow counts the barrels.'].map((t) => JSON.stringify({ text: t })).join('\n') });
    mkdirSync(join(docs, 'sub'));
    writeFileSync(join(docs, 'sub', 'd.md'), 'Salt and amber are traded at Vellmora.\n');
    const out = join(mkdtempSync(join(tmpdir(), 'tabtune-cpt-')), 'run');
    const r = runCli([
      'train-cpt', '--model', LLAMA, '--docs', docs, '--out', out, '--tune', 'full', '--train-last', '1',
      '--steps', '2', '--batch', '2', '--lr', '1e-3', '--max-seq-len', '16', '--held-out', '0.3', '--json',
    ]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const cpt = records.find((x) => x.cpt)!.cpt;
    expect(cpt.data).toMatchObject({ trainDocuments: 4, heldOutDocuments: 2 });
    for (const when of ['before', 'after']) {
      for (const set of ['newDocuments', 'general']) expect(cpt[when][set].perplexity).toBeGreaterThan(1);
    }
    const saved = JSON.parse(readFileSync(join(out, 'cpt_eval.json'), 'utf8'));
    expect(saved.after).toEqual(cpt.after);
    const changed = JSON.parse(readFileSync(join(out, 'changed_tensors.json'), 'utf8'));
    expect(changed.freeze).toEqual({ trainLast: 1 });
  });
});
