import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Workbench } from '../../src/core/workspace/workbench.ts';
import { MemoryStore } from '../../src/core/workspace/store.ts';
import { acquireNodeGpu } from '../../src/platform/node-gpu.ts';
import { localTree } from '../../src/platform/browser-files.ts';

const TINY = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));
const blobs = (dir: string, prefix: string, skip: (f: string) => boolean = () => false) =>
  readdirSync(dir).filter((f) => !skip(f)).map((f) => ({ path: `${prefix}/${f}`, file: new Blob([readFileSync(join(dir, f))]) }));

const MC = [
  { question: 'Which is a colour?', choices: ['red', 'table', 'seven'], answer: 0 },
  { question: 'Which is a number?', choices: ['seven', 'blue'], answer: 0 },
  { question: 'Which can fly?', choices: ['a stone', 'a bird', 'a chair'], answer: 1 },
].map((r) => JSON.stringify(r)).join('\n');

const SUITE = JSON.stringify({
  name: 'tiny gate',
  tasks: [
    { name: 'words', task: 'mc', data: 'words.jsonl', metric: 'acc', min: 0 },
    { name: 'words-general', task: 'mc', data: 'words.jsonl', metric: 'acc_norm', general: true, max_drop: 1 },
  ],
});

describe('benchmark suites through the Worker API', () => {
  it('gates an imported adapter against the base, keeps suites, and builds the leaderboard', async () => {
    const wb = new Workbench({
      acquireGpu: () => acquireNodeGpu(), store: new MemoryStore(), cachedModels: async () => [], localTree,
      async openModel(source, files) {
        return localTree(source.kind === 'local' ? source.name : 'x', files ?? []);
      },
    });
    await wb.init();
    await wb.loadModel({ kind: 'local', name: 'tiny-llama' }, blobs(TINY, 'tiny-llama', (f) => f === 'adapter' || f.startsWith('reference')));
    const run = await wb.importAdapter('fixture adapter', blobs(join(TINY, 'adapter'), 'adapter'));

    const files = { 'words.jsonl': MC };
    expect(await wb.saveSuite({ name: 'tiny gate', suite: SUITE, files })).toEqual(['tiny gate']);
    expect(await wb.listSuites()).toEqual(['tiny gate']);
    await expect(wb.saveSuite({ name: 'broken', suite: SUITE, files: {} })).rejects.toThrow(/the file "words\.jsonl" it names was not provided/);

    const seen: string[] = [];
    const report = await wb.runSuite({ ...(await wb.getSuite('tiny gate')), runId: run.id }, (what) => seen.push(what));
    expect(report.suite).toBe('tiny gate');
    expect(report.rows.map((r) => r.name)).toEqual(['words', 'words-general']);
    for (const r of report.rows) {
      expect(r.base).not.toBeNull();
      expect(r.tuned).not.toBeNull();
      expect(r.passed).toBe(true);
    }
    expect(seen.some((w) => w.includes('(base)'))).toBe(true);
    expect(seen.some((w) => w.includes('(fixture adapter)'))).toBe(true);

    const board = await wb.leaderboard();
    expect(board.model).toBe('tiny-llama');
    expect(board.tasks.map((t) => t.name)).toEqual(['words', 'words-general']);
    expect(board.rows.map((r) => r.runId)).toEqual([null, run.id]);
    expect(board.rows[0]!.values.words!.acc).toBe(report.rows[0]!.base);
    expect(board.rows[1]!.values.words!.acc).toBe(report.rows[0]!.tuned);
    expect(board.rows[1]!.values['words-general']!.acc_norm).toBe(report.rows[1]!.tuned);
  }, 300_000);
});
