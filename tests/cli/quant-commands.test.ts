import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, jsonLines, LLAMA, tabtune } from './cli-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'tabtune-quant-'));
const MC = [
  { question: 'Which is a colour?', choices: ['red', 'table', 'seven'], answer: 0 },
  { question: 'Pick B', choices: ['a', 'b', 'c', 'd'], answer: 1 },
];
writeFileSync(join(dir, 'mc.jsonl'), MC.map((l) => JSON.stringify(l)).join('\n'));
writeFileSync(join(dir, 'suite.json'), JSON.stringify({ name: 'q', tasks: [{ name: 'mc', task: 'mc', data: 'mc.jsonl', metric: 'acc', min: 0 }] }));

beforeAll(buildCli);

describe('--quant on eval --task/--suite, bench and demo', () => {
  it('eval --task and --suite score on the quantised base: log-probs move a little', () => {
    const mc = (...q: string[]) => {
      const r = tabtune('eval', '--task', 'mc', '--model', LLAMA, '--data', join(dir, 'mc.jsonl'), ...q, '--json');
      expect(r.code, r.stderr).toBe(0);
      return jsonLines(r.stdout).slice(0, 2).flatMap((l) => l.choice_logprobs as number[]);
    };
    const f32 = mc();
    for (const quant of ['int8', 'int4']) {
      const got = mc('--quant', quant);
      // Relative change of each choice's summed log-prob: quantisation moves it, by a few percent at most.
      const moved = Math.max(...got.map((x, i) => Math.abs(x - f32[i]!) / Math.abs(f32[i]!)));
      expect(moved, quant).toBeGreaterThan(1e-6);
      expect(moved, quant).toBeLessThan(0.05);
    }
    const suite = (...q: string[]) => jsonLines(tabtune('eval', '--suite', join(dir, 'suite.json'), '--model', LLAMA, ...q, '--json').stdout)[0];
    expect(suite('--quant', 'int4').metrics.base).toEqual(expect.objectContaining({ acc: expect.any(Number) }));
    const bad = tabtune('eval', '--suite', join(dir, 'suite.json'), '--model', LLAMA, '--int8', '--quant', 'int4');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--int8 and --quant int4 disagree/);
  });

  it('bench holds the base as asked, says so in each line, and its estimate counts the quantised weights', () => {
    const bench = (...q: string[]) => {
      const r = tabtune('bench', '--only', 'train', '--models', LLAMA, '--batches', '1', '--seq', '16', '--steps', '1', ...q);
      expect(r.code, r.stderr).toBe(0);
      return jsonLines(r.stdout).find((l) => l.bench === 'train');
    };
    const f32 = bench();
    const nf4 = bench('--quant', 'int4');
    expect(f32).toMatchObject({ quant: 'none', precision: 'f32' });
    expect(nf4).toMatchObject({ quant: 'int4', precision: 'f32' });
    expect(nf4.estimate_mib).toBeLessThan(f32.estimate_mib);
    expect(nf4.peak_mib).toBeLessThan(f32.peak_mib);
    const both = tabtune('bench', '--only', 'train', '--models', LLAMA, '--quant', 'int8', '--precision', 'f16');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/both set how the base is held/);
  });

  it('demo takes --quant (checked before any work)', () => {
    expect(tabtune('demo', '--help').stdout).toMatch(/--quant/);
    const out = join(dir, 'demo-out');
    const r = tabtune('demo', '--quant', 'int3', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--quant must be one of none, int8, int4, got "int3"/);
    expect(existsSync(out)).toBe(false);
  });
});
