import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, jsonLines, LLAMA, tabtune } from './cli-harness.ts';

function file(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tabtune-grpo-')), name);
  writeFileSync(path, text);
  return path;
}

const prompts = file('prompts.jsonl', Array.from({ length: 4 }, (_, i) => JSON.stringify({ prompt: `Count from ${i}:`, answer: `${i + 1}` })).join('\n') + '\n');
const base = (out: string, reward: string) => [
  'train', '--method', 'grpo', '--model', LLAMA, '--data', prompts, '--reward', reward, '--out', out,
  '--steps', '2', '--batch', '2', '--num-generations', '3', '--max-completion-length', '4', '--lora-r', '2', '--lr', '1e-2',
];

beforeAll(buildCli);

describe('tabtune train --method grpo', () => {
  it('samples, scores with the user\'s rewards and prints TRL\'s GRPO metric names per step', () => {
    const reward = file('reward.js', 'module.exports = { short: (p, c) => -c.length, answer: (p, c, f) => (c.includes(f.answer) ? 1 : 0) };');
    const out = join(mkdtempSync(join(tmpdir(), 'tabtune-out-')), 'run');
    const r = tabtune(...base(out, reward), '--beta', '0.04', '--json');
    expect(r.code, r.stderr).toBe(0);
    const steps = jsonLines(r.stdout).filter((l) => 'step' in l);
    expect(steps).toHaveLength(2);
    for (const s of steps) {
      for (const k of ['reward', 'reward_std', 'kl', 'clip_ratio', 'completions/mean_length', 'frac_reward_zero_std', 'rewards/short/mean', 'rewards/answer/mean']) {
        expect(Number.isFinite(s[k]), k).toBe(true);
      }
      expect(s.reward).toBeCloseTo(s['rewards/short/mean'] + s['rewards/answer/mean'], 12);
      expect(s['completions/mean_length']).toBeLessThanOrEqual(4);
    }
    // Step 1: the adapter's B is 0, so the policy is the reference and the KL is 0.
    expect(steps[0].kl).toBe(0);
    // The same run files as every run (TrainJob): a manifest with the GRPO options, and a GRPOTrainer config.
    expect(readdirSync(out).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'run_manifest.json', 'train_trl.py', 'trl_config.yaml']);
    const manifest = JSON.parse(readFileSync(join(out, 'run_manifest.json'), 'utf8'));
    expect(manifest.preference).toMatchObject({
      method: 'grpo', generations: 3, beta: 0.04, epsilon: 0.2, maxCompletionLength: 4, temperature: 1, rewardSource: reward, rewardFunctions: ['short', 'answer'],
    });
    expect(manifest.dataset.format).toBe('prompt-only');
    expect(manifest.metrics.steps).toBe(2);
    expect(manifest.config.lr).toBe(1e-2);
    const yaml = readFileSync(join(out, 'trl_config.yaml'), 'utf8');
    expect(yaml).toContain('GRPOTrainer');
    for (const line of ['num_generations: 3', 'beta: 0.04', 'epsilon: 0.2', 'max_completion_length: 4', 'temperature: 1', 'learning_rate: 0.01',
      'per_device_train_batch_size: 6', 'loss_type: "grpo"']) expect(yaml).toContain(line);
    expect(yaml).not.toMatch(/^max_length:|^packing:/m);
    expect(yaml).toContain(`# reward_funcs: short, answer from ${reward} (JavaScript)`);
    const py = readFileSync(join(out, 'train_trl.py'), 'utf8');
    expect(py).toContain('from trl import GRPOConfig, GRPOTrainer');
    expect(py).toContain('args = GRPOConfig(');
    expect(py).toContain('    num_generations=3,');
    expect(py).toContain('reward_funcs = [short, answer]');
    expect(py).toContain('    reward_funcs=reward_funcs,');
  }, 600_000);

  it('a hostile reward stops the run with one line naming the file and function; nothing is written', () => {
    for (const [code, message] of [
      ['module.exports = function spin() { for (;;) {} };', /reward\.js: reward function spin on completion 1 \(.*\) ran over the 1000 ms limit/],
      ['module.exports = function boom() { throw new TypeError("no"); };', /reward\.js: reward function boom on completion 1 .* threw TypeError: no/],
      ['module.exports = function nan() { return NaN; };', /reward\.js: reward function nan .* returned NaN; a reward must be a finite number/],
      ['module.exports = function net() { return fetch("http://example.com"); };', /reward function net .* threw ReferenceError: fetch is not defined/],
      ['module.exports = function mod() { return require("fs").readFileSync("/etc/passwd").length; };', /threw ReferenceError: require is not defined/],
    ] as const) {
      const out = join(mkdtempSync(join(tmpdir(), 'tabtune-out-')), 'run');
      // Only the endless loop needs a short limit; the others get a long one so a busy machine cannot time them out.
      const limit = code.includes('for (;;)') ? '1000' : '60000';
      const r = tabtune(...base(out, file('reward.js', code)), '--reward-timeout', limit);
      expect(r.code, code).toBe(1);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('tabtune') && !l.startsWith('tabtune: using'));
      expect(errors, r.stderr).toHaveLength(1);
      expect(errors[0]).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
  }, 1_800_000);

  it('bad flags and reward files are one clear line before any work', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tabtune-out-')), 'run');
    const usage = tabtune('train', '--method', 'grpo', '--model', LLAMA, '--data', prompts, '--out', out);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--method grpo needs --reward FILE/);
    const g = tabtune(...base(out, file('r.js', 'module.exports = () => 1;')), '--num-generations', '1');
    expect(g.code).toBe(2);
    expect(g.stderr).toMatch(/--num-generations must be ≥ 2/);
    const dpoFlag = tabtune('train', '--method', 'dpo', '--model', LLAMA, '--data', prompts, '--out', out, '--reward', 'x.js');
    expect(dpoFlag.code).toBe(2);
    expect(dpoFlag.stderr).toMatch(/--reward is for --method grpo, not dpo/);
    const loop = tabtune(...base(out, file('loop.js', 'while (true) {}')), '--reward-timeout', '500');
    expect(loop.code).toBe(1);
    expect(loop.stderr).toMatch(/loop\.js: loading it ran over the 500 ms limit/);
  }, 600_000);
});
