import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, jsonLines, LLAMA, tabtune } from './cli-harness.ts';

/** stderr without the software driver's warnings. */
const errors = (s: string) => s.split('\n').filter((l) => l.startsWith('tabtune:') && !l.includes('using '));

const dir = mkdtempSync(join(tmpdir(), 'tabtune-bench-'));
function file(name: string, lines: unknown[]): string {
  writeFileSync(join(dir, name), lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
  return join(dir, name);
}
const MC = [
  { question: 'Which is a colour?', choices: ['red', 'table', 'seven'], answer: 0 },
  { ctx: 'The cat sat on the', endings: ['mat', 'moon'], label: '0' },
  { question: 'Pick B', choices: { text: ['a', 'b', 'c', 'd'], label: ['A', 'B', 'C', 'D'] }, answerKey: 'B' },
];

beforeAll(buildCli);

describe('tabtune eval --task / --suite', () => {
  it('--task mc prints one line per question and the summary', () => {
    const r = tabtune('eval', '--task', 'mc', '--model', LLAMA, '--data', file('mc.jsonl', MC), '--json');
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines).toHaveLength(4);
    lines.slice(0, 3).forEach((l, i) => {
      expect(Object.keys(l)).toEqual(['index', 'choice_logprobs', 'pred', 'pred_norm', 'answer']);
      expect(l.index).toBe(i);
      expect(l.choice_logprobs).toHaveLength([3, 2, 4][i]!);
      expect(l.choice_logprobs.every((x: number) => x < 0)).toBe(true);
    });
    expect(lines.slice(0, 3).map((l) => l.answer)).toEqual([0, 0, 1]);
    const acc = lines.slice(0, 3).filter((l) => l.pred === l.answer).length / 3;
    const accNorm = lines.slice(0, 3).filter((l) => l.pred_norm === l.answer).length / 3;
    expect(lines[3]).toEqual({ task: 'mc', n: 3, acc, acc_norm: accNorm });
  });

  it('hostile benchmark files: one clear line each, exit 1', () => {
    const cases: [string, unknown, RegExp][] = [
      ['empty.jsonl', { question: 'q', choices: [], answer: 0 }, /empty\.jsonl: line 1: "choices" is empty/],
      ['range.jsonl', { question: 'q', choices: ['a', 'b'], answer: 5 }, /range\.jsonl: line 1: "answer" 5 is outside the 2 choices/],
      ['many.jsonl', { question: 'q', choices: Array.from({ length: 10_000 }, (_, i) => `c${i}`), answer: 0 }, /many\.jsonl: line 1: "choices" has 10000 choices; at most 256/],
      ['huge.jsonl', { question: 'x'.repeat(1 << 20), choices: ['a'], answer: 0 }, /huge\.jsonl: line 1: "question" has 1048576 characters/],
    ];
    for (const [name, rec, want] of cases) {
      const r = tabtune('eval', '--task', 'mc', '--model', LLAMA, '--data', file(name, [rec]), '--json');
      expect(r.code, name).toBe(1);
      expect(errors(r.stderr), name).toHaveLength(1);
      expect(errors(r.stderr)[0], name).toMatch(want);
      expect(r.stdout, name).toBe('');
    }
    const g = tabtune('eval', '--task', 'grounded', '--model', LLAMA, '--data', file('g.jsonl', [{ question: 'q', contexts: ['y'.repeat(1 << 20)], answer: 'a' }]));
    expect([g.code, errors(g.stderr)]).toEqual([1, [expect.stringMatching(/g\.jsonl: line 1: the record has \d+ characters; at most 100000/)]]);
    const t = tabtune('eval', '--task', 'mmlu', '--data', 'x.jsonl');
    expect([t.code, errors(t.stderr)]).toEqual([2, ['tabtune: --task must be one of mc, grounded, safety, got "mmlu"']]);
  });

  it('--suite runs base and adapter, marks the gate, and exits 1 when a threshold fails', () => {
    const mc = file('suite-mc.jsonl', MC);
    const suite = join(dir, 'suite.json');
    writeFileSync(suite, JSON.stringify({
      name: 'test gate',
      tasks: [
        { name: 'reachable', task: 'mc', data: 'suite-mc.jsonl', metric: 'acc', min: 0 },
        { name: 'impossible', task: 'mc', data: 'suite-mc.jsonl', metric: 'acc_norm', min: 1.5 },
      ],
    }));
    expect(mc).toContain(dir);
    const r = tabtune('eval', '--suite', suite, '--model', LLAMA, '--adapter', join(LLAMA, 'adapter'), '--json');
    expect(r.code, r.stderr).toBe(1);
    const [ok, bad, last] = jsonLines(r.stdout);
    expect([ok.name, ok.passed, bad.name, bad.passed]).toEqual(['reachable', true, 'impossible', false]);
    expect(bad.reasons[0]).toMatch(/acc_norm [\d.]+ is below the minimum 1\.5/);
    // The fixture adapter changes the model (its B is not zero): base and tuned are both measured.
    for (const row of [ok, bad]) {
      expect(row.metrics.base).toHaveProperty('acc');
      expect(row.metrics.adapter).toHaveProperty('acc');
      expect(row.delta).toBeCloseTo(row.tuned - row.base, 12);
    }
    expect(last).toEqual({ suite: 'test gate', passed: false, failed: ['impossible'], regressions: expect.any(Array) });
    expect(errors(r.stderr)).toEqual([expect.stringMatching(/^tabtune: the gate failed: impossible \(acc_norm/)]);
  });
});
