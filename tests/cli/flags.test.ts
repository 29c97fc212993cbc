/**
 * Flag values outside their range are refused before any work: exit 2, one stderr line that names
 * the flag as the user typed it (never an internal field name), nothing on stdout.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCli, LLAMA, runCli } from './cli-harness.ts';

const tabtune = (cwd: string, ...args: string[]) => runCli(args, { cwd });

beforeAll(buildCli);

/** Internal names that must never reach a user. */
const INTERNAL = /maxLength|fraction|gradAccum|weightDecay|saveEvery|evalEvery|lora r\b|lora dropout|grad_accum|RangeError/;

const CASES: readonly [args: readonly string[], flag: string][] = [
  [['train', '--warmup', '-1'], '--warmup'],
  [['train', '--clip', '-1'], '--clip'],
  [['train', '--save-every', '-1'], '--save-every'],
  [['train', '--lora-alpha', '0'], '--lora-alpha'],
  [['train', '--lr', '0'], '--lr'],
  [['train', '--lr', '-1e-4'], '--lr'],
  [['train', '--batch', '0'], '--batch'],
  [['train', '--grad-accum', '0'], '--grad-accum'],
  [['train', '--steps', '0'], '--steps'],
  [['train', '--epochs', '0'], '--epochs'],
  [['train', '--lora-r', '0'], '--lora-r'],
  [['train', '--lora-dropout', '1'], '--lora-dropout'],
  [['train', '--val-split', '1'], '--val-split'],
  [['train', '--val-split', '-0.1'], '--val-split'],
  [['train', '--max-seq-len', '0'], '--max-seq-len'],
  [['train', '--eval-every', '-2'], '--eval-every'],
  [['train', '--early-stopping', '-1'], '--early-stopping'],
  [['train', '--weight-decay', '-0.1'], '--weight-decay'],
  [['train', '--eps', '0'], '--eps'],
  [['train', '--seed', '-3'], '--seed'],
  [['train', '--batch', '2.5'], '--batch'],
  [['train', '--schedule', 'exponential'], '--schedule'],
  [['train', '--method', 'qlora'], '--method'],
  [['train', '--betas', '0.9'], '--betas'],
  [['eval', '--data', 'x.jsonl', '--batch', '0'], '--batch'],
  [['eval', '--data', 'x.jsonl', '--max-seq-len', '-8'], '--max-seq-len'],
  [['generate', '--prompt', 'hi', '--max-new-tokens', '0'], '--max-new-tokens'],
  [['generate', '--prompt', 'hi', '--top-p', '0'], '--top-p'],
  [['generate', '--prompt', 'hi', '--top-p', '1.5'], '--top-p'],
  [['generate', '--prompt', 'hi', '--temperature', '0'], '--temperature'],
  [['generate', '--prompt-ids', '1,x'], '--prompt-ids'],
  [['demo', '--steps', '0'], '--steps'],
  [['init', '--like', 'gpt5', '--out', 'm'], '--like'],
  [['init', '--like', 'gpt2', '--out', 'm', '--dtype', 'int4'], '--dtype'],
  [['merge', '--adapter', 'a', '--out', 'm', '--zip', '--json', '--model'], '--model'],
  [['tokenize', '--text', 'hi', '--model'], '--model'],
  [['bench', '--only', 'everything'], '--only'],
  [['bench', '--steps', '0'], '--steps'],
  [['bench', '--batches', '1,0'], '--batches'],
  [['bench', '--models', 'gpt5'], '--models'],
  [['export', '--out', 'm.gguf', '--type', 'q4_k'], '--type'],
  [['export', '--out', 'm.gguf', '--format', 'onnx'], '--format'],
  [['serve', '--port', '70000'], '--port'],
  [['serve', '--check', 'block'], '--check'],
  [['serve', '--alert-error-rate', '2'], '--alert-error-rate'],
  [['serve', '--queue', '-1'], '--queue'],
  [['monitor', '--log'], '--log'],
  [['data', 'feedback', '--log', 'l.jsonl', '--out', 'p.jsonl', '--format', 'sft'], '--format'],
  [['data', 'prepare', '--data', 'd.jsonl', '--out', 'o.jsonl', '--dedup', 'fuzzy'], '--dedup'],
  [['data', 'prepare', '--data', 'd.jsonl', '--out', 'o.jsonl', '--pii', 'erase'], '--pii'],
  [['data', 'prepare', '--data', 'd.jsonl', '--out', 'o.jsonl', '--near-threshold', '1.5'], '--near-threshold'],
  [['data', 'prepare', '--data', 'd.jsonl', '--out', 'o.jsonl', '--languages', 'en,xx'], '--languages'],
  [['data', 'prepare', '--data', 'd.jsonl', '--out', 'o.jsonl', '--scripts', 'Klingon'], '--scripts'],
  [['data', 'prepare', '--data', 'd.jsonl', '--out', 'o.jsonl', '--balance-field', 'kind', '--balance', 'even'], '--balance'],
  [['data', 'stats', '--data'], '--data'],
  [['data', 'preview', '--data', 'd.jsonl', '--limit', '0'], '--limit'],
  [['data', 'synth', '--method', 'dream', '--out', 'o.jsonl'], '--method'],
  [['data', 'synth', '--per-row', '0', '--out', 'o.jsonl'], '--per-row'],
  [['eval', '--task', 'mmlu', '--data', 'x.jsonl'], '--task'],
  [['eval', '--task', 'grounded', '--data', 'x.jsonl', '--max-new-tokens', '0'], '--max-new-tokens'],
  [['train-cpt', '--docs', 'x.txt', '--held-out', '1'], '--held-out'],
  [['train-gate', '--adapter', 'a=x', '--adapter', 'b=y', '--data', 'x.jsonl', '--steps', '0'], '--steps'],
];

/** Every command, as `tabtune --help` lists it. */
const COMMANDS = [
  'demo', 'train', 'train-cpt', 'train-gate', 'eval', 'generate', 'tokenize', 'merge', 'init', 'bench', 'export', 'serve', 'monitor',
  'data feedback', 'data prepare', 'data preview', 'data stats', 'data synth',
] as const;

describe('flag ranges', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tabtune-flags-'));

  for (const [args, flag] of CASES) {
    it(`${args.join(' ')} is refused naming ${flag}`, () => {
      const r = tabtune(cwd, ...args);
      expect(r.code, r.stderr).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(flag);
      expect(lines[0]).not.toMatch(INTERNAL);
      expect(r.stdout).toBe('');
    });
  }

  it('nothing was written where the commands ran', () => {
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('a run manifest with an out-of-range value is refused naming the flag it fills', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabtune-manifest-'));
    const manifest = {
      model: { name: LLAMA, source: { kind: 'local', path: LLAMA } },
      dataset: { name: join(dir, 'd.jsonl'), hash: '0', maxLength: 64, packing: false, maskPrompt: true, validationFraction: 0 },
      config: {
        method: 'lora', lr: 1e-3, schedule: 'linear', warmup: -4, batch: 2, gradAccum: 1, epochs: 1, weightDecay: 0, clip: 1, betas: [0.9, 0.999],
        eps: 1e-8, shuffle: true, seed: 1, evalEvery: 0, earlyStoppingPatience: 0, saveEvery: 0, gradCheckpointing: false,
        lora: { r: 4, alpha: 8, dropout: 0, rslora: false, targets: 'all-linear' },
      },
    };
    writeFileSync(join(dir, 'run_manifest.json'), JSON.stringify(manifest));
    const r = tabtune(dir, 'train', '--manifest', join(dir, 'run_manifest.json'), '--out', join(dir, 'out'));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['tabtune: --warmup must be ≥ 0, got -4']);
    expect(readdirSync(dir)).toEqual(['run_manifest.json']);
  });

  for (const name of COMMANDS) {
    it(`tabtune ${name} --help prints its usage and options`, () => {
      const r = tabtune(cwd, ...name.split(' '), '--help');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`tabtune ${name}: `);
      expect(r.stdout).toMatch(/\nOptions:\n/);
      expect(r.stdout).toMatch(/--json\s+print machine-readable JSON/);
    });
  }

  it('--help shows the ranges from the same schema', () => {
    const r = tabtune(cwd, 'train', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--warmup N\s+warmup steps \(default: chosen from the model and data size\) \[≥ 0\]/);
    expect(r.stdout).toMatch(/--grad-accum N\s+micro-batches per optimizer step \[≥ 1\] \(default: 1\)/);
    expect(r.stdout).toMatch(/--val-split F\s+.*\[≥ 0, < 1\]/);
    expect(r.stdout).toMatch(/--lora-alpha A\s+.*\[> 0\]/);
  });
});
