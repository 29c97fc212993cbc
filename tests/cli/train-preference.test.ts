import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, jsonLines, LLAMA, tabtune } from './cli-harness.ts';

function file(name: string, rows: unknown[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tabtune-pref-')), name);
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}

const pairs = file('pairs.jsonl', Array.from({ length: 8 }, (_, i) => ({
  prompt: `Count from ${i}:`, chosen: ` ${i + 1} ${i + 2} ${i + 3}`, rejected: ` ${i * 7 % 5} cat ${i}`,
})));

beforeAll(buildCli);

describe('tabtune train --method dpo|orpo|simpo|kto', () => {
  it('DPO with --json prints TRL-named metrics per step, starts at ln 2, and exports a DPOTrainer config', () => {
    const out = mkdtempSync(join(tmpdir(), 'tabtune-out-'));
    const r = tabtune('train', '--method', 'dpo', '--model', LLAMA, '--data', pairs, '--out', out, '--steps', '3', '--batch', '2', '--beta', '0.2',
      '--lr', '1e-2', '--lora-r', '4', '--val-split', '0.25', '--json');
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    const steps = lines.filter((l) => 'step' in l);
    expect(steps).toHaveLength(3);
    for (const s of steps) {
      for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']) expect(typeof s[k], k).toBe('number');
    }
    expect(steps[0].loss).toBeCloseTo(Math.LN2, 5);
    expect(steps[0]['rewards/margins']).toBe(0);
    const evals = lines.filter((l) => 'eval' in l).map((l) => l.eval);
    expect(evals.map((e) => e.when)).toEqual(['before', 'after']);
    expect(evals[0].loss).toBeCloseTo(Math.LN2, 5);
    const trl = readFileSync(join(out, 'trl_config.yaml'), 'utf8');
    expect(trl).toContain('DPOTrainer');
    expect(trl).toContain('beta: 0.2');
    expect(trl).toContain('loss_type: "sigmoid"');
    expect(trl).not.toContain('completion_only_loss');
    expect(readFileSync(join(out, 'train_trl.py'), 'utf8')).toContain('trainer = DPOTrainer(');
    const manifest = JSON.parse(readFileSync(join(out, 'run_manifest.json'), 'utf8'));
    expect(manifest.preference).toMatchObject({ method: 'dpo', beta: 0.2 });
    expect(manifest.dataset.format).toBe('preference');
  });

  it('DPO accepts --quant like SFT: an int8 base, the adapter-off reference on the same base (ln 2 at the start)', () => {
    const out = mkdtempSync(join(tmpdir(), 'tabtune-out-'));
    const r = tabtune('train', '--method', 'dpo', '--model', LLAMA, '--data', pairs, '--out', out, '--steps', '1', '--batch', '2', '--lora-r', '4',
      '--quant', 'int8', '--json');
    expect(r.code, r.stderr).toBe(0);
    const [step] = jsonLines(r.stdout).filter((l) => 'step' in l);
    expect(step.loss).toBeCloseTo(Math.LN2, 5);
    expect(step['rewards/margins']).toBe(0);
  });

  it('DPO with --rpo-alpha adds α × the chosen NLL to the loss and exports DPOConfig(rpo_alpha=…)', () => {
    const out = mkdtempSync(join(tmpdir(), 'tabtune-out-'));
    const r = tabtune('train', '--method', 'dpo', '--model', LLAMA, '--data', pairs, '--out', out, '--steps', '1', '--batch', '2', '--lora-r', '2',
      '--rpo-alpha', '0.5', '--json');
    expect(r.code, r.stderr).toBe(0);
    const [step] = jsonLines(r.stdout).filter((l) => 'step' in l);
    expect(step.nll_loss).toBeGreaterThan(0);
    expect(step.loss).toBeCloseTo(Math.LN2 + 0.5 * step.nll_loss, 5);
    expect(step['rewards/margins']).toBe(0);
    expect(readFileSync(join(out, 'trl_config.yaml'), 'utf8')).toContain('rpo_alpha: 0.5');
    expect(readFileSync(join(out, 'train_trl.py'), 'utf8')).toContain('rpo_alpha=0.5,');
    expect(JSON.parse(readFileSync(join(out, 'run_manifest.json'), 'utf8')).preference).toMatchObject({ method: 'dpo', rpoAlpha: 0.5 });
  });

  it('ORPO, SimPO and KTO run and name their TRL trainers', () => {
    const kto = file('kto.jsonl', Array.from({ length: 6 }, (_, i) => ({ prompt: `Count from ${i}:`, completion: i % 2 ? ' cat dog' : ` ${i + 1} ${i + 2}`, label: i % 2 === 0 })));
    for (const [method, data, extra, trainer] of [
      ['orpo', pairs, ['--orpo-lambda', '0.3'], 'ORPOTrainer'],
      ['simpo', pairs, ['--simpo-gamma', '0.4', '--beta', '2'], 'CPOTrainer'],
      ['kto', kto, [], 'KTOTrainer'],
    ] as [string, string, string[], string][]) {
      const out = mkdtempSync(join(tmpdir(), 'tabtune-out-'));
      const r = tabtune('train', '--method', method, '--model', LLAMA, '--data', data, '--out', out, '--steps', '2', '--batch', '2', '--lora-r', '2', ...extra, '--json');
      expect(r.code, `${method}: ${r.stderr}`).toBe(0);
      const steps = jsonLines(r.stdout).filter((l) => 'step' in l);
      expect(steps).toHaveLength(2);
      expect(Number.isFinite(steps[1].loss)).toBe(true);
      expect(readFileSync(join(out, 'trl_config.yaml'), 'utf8')).toContain(trainer);
    }
  });

  it('bad flags and data are one clear line with exit status 2 or 1', () => {
    const out = mkdtempSync(join(tmpdir(), 'tabtune-out-'));
    const usage = (args: string[], message: RegExp) => {
      const r = tabtune('train', '--model', LLAMA, '--data', pairs, '--out', out, ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    };
    usage(['--method', 'ppo'], /--method must be one of sft, dpo, orpo, simpo, kto, grpo/);
    usage(['--method', 'dpo', '--orpo-lambda', '0.2'], /--orpo-lambda is for --method orpo, not dpo/);
    usage(['--method', 'orpo', '--rpo-alpha', '1'], /--rpo-alpha is for --method dpo, not orpo/);
    usage(['--method', 'dpo', '--rpo-alpha', '-1'], /--rpo-alpha must be ≥ 0, got -1/);
    usage(['--method', 'dpo', '--beta', '-1'], /--beta must be a positive number/);
    usage(['--method', 'full', '--tune', 'lora'], /contradicts --tune lora/);
    usage(['--method', 'grpo'], /--method grpo needs --reward FILE/);
    const kto = file('kto.jsonl', [{ prompt: 'a', completion: 'b', label: true }]);
    const r = tabtune('train', '--method', 'dpo', '--model', LLAMA, '--data', kto, '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/kto\.jsonl: holds unpaired records; --method dpo needs paired ones/);
  });
});
