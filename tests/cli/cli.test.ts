import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, jsonLines, LLAMA, referenceData, ROOT, tabtune } from './cli-harness.ts';

const FIX = join(ROOT, 'tests/fixtures/hf');
const GPT2 = join(FIX, 'models/tiny-gpt2');

/** A writable copy of a fixture model folder. */
function copy(dir: string): string {
  const out = mkdtempSync(join(tmpdir(), 'tabtune-model-'));
  cpSync(dir, out, { recursive: true });
  return out;
}

beforeAll(buildCli);

describe('tabtune CLI', () => {
  const { ref, data } = referenceData();

  it('every command has --help', () => {
    for (const cmd of ['train', 'eval', 'generate', 'tokenize', 'merge', 'init', 'bench', 'demo', 'data prepare', 'data stats', 'data synth']) {
      const r = tabtune(...cmd.split(' '), '--help');
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toContain('Usage: tabtune');
    }
  });

  it('tokenize prints the tokenizer\'s ids', () => {
    const expected = JSON.parse(readFileSync(join(FIX, 'tokenizers/bpe512-chat/expected.json'), 'utf8'));
    const c = expected.cases[0];
    expect(jsonLines(tabtune('tokenize', '--model', join(FIX, 'tokenizers/bpe512-chat'), '--text', c.text, '--json').stdout)[0].ids).toEqual(c.ids);
  });

  it('eval reports the loss transformers computes; generate and train reproduce the fixture', () => {
    const ev = jsonLines(tabtune('eval', '--model', LLAMA, '--data', data, '--json').stdout)[0];
    expect(Math.abs(ev.loss - ref.loss)).toBeLessThan(1e-4 * ref.loss);
    expect(ev.tokens).toBe(41);
    expect(ev.perplexity).toBeCloseTo(Math.exp(ev.loss), 6);

    const g = jsonLines(tabtune('generate', '--model', LLAMA, '--adapter', join(LLAMA, 'adapter'), '--prompt-ids', ref.input_ids[0].slice(0, 6).join(','), '--max-new-tokens', '8', '--greedy', '--ignore-eos', '--json').stdout)[0];
    expect(g.ids).toEqual(ref.greedy_lora);

    const out = mkdtempSync(join(tmpdir(), 'tabtune-out-'));
    const t = tabtune('train', '--model', LLAMA, '--data', data, '--out', out, '--init-adapter', join(LLAMA, 'adapter'), '--lr', '1e-2', '--schedule', 'constant',
      '--steps', '3', '--batch', '2', '--no-shuffle', '--clip', '1', '--weight-decay', '0.01', '--json');
    expect(t.code, t.stderr).toBe(0);
    const steps = jsonLines(t.stdout).filter((l) => 'step' in l && 'loss' in l);
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3]);
    steps.forEach((s, i) => expect(Math.abs(s.loss - ref.adamw.losses_before_each_step[i])).toBeLessThan(1e-4));
    const after = jsonLines(tabtune('eval', '--model', LLAMA, '--adapter', out, '--data', data, '--json').stdout)[0];
    expect(Math.abs(after.loss - ref.adamw.loss_after)).toBeLessThan(1e-4);
    const manifest = JSON.parse(readFileSync(join(out, 'run_manifest.json'), 'utf8'));
    expect(manifest.config).toMatchObject({ lr: 0.01, steps: 3, batch: 2, weightDecay: 0.01, clip: 1, shuffle: false });

    // The manifest repeats the run: same losses from a fresh adapter with the same settings.
    const a = mkdtempSync(join(tmpdir(), 'tabtune-a-'));
    const first = jsonLines(tabtune('train', '--model', LLAMA, '--data', data, '--out', a, '--steps', '4', '--batch', '1', '--lora-r', '4', '--lora-dropout', '0.1', '--seed', '5', '--zip', '--json').stdout).filter((l) => 'loss' in l);
    const again = jsonLines(tabtune('train', '--manifest', join(a, 'run_manifest.json'), '--out', mkdtempSync(join(tmpdir(), 'tabtune-b-')), '--json').stdout).filter((l) => 'loss' in l);
    expect(again.map((l) => l.loss)).toEqual(first.map((l) => l.loss));
    expect(statSync(`${a}.zip`).size).toBeGreaterThan(1000);
  });

  it('merge writes a model folder whose logits equal the adapter\'s', () => {
    const out = mkdtempSync(join(tmpdir(), 'tabtune-merged-'));
    expect(tabtune('merge', '--model', GPT2, '--adapter', join(GPT2, 'adapter'), '--out', out).code).toBe(0);
    const r = JSON.parse(readFileSync(join(GPT2, 'reference.json'), 'utf8'));
    const ids = r.input_ids[0].slice(0, 6).join(',');
    const merged = jsonLines(tabtune('generate', '--model', out, '--prompt-ids', ids, '--max-new-tokens', '8', '--greedy', '--ignore-eos', '--json').stdout)[0];
    expect(merged.ids).toEqual(r.greedy_lora);
  });

  describe('bad input: one clear line on stderr and a non-zero exit', () => {
    const oneLine = (r: { code: number; stderr: string; stdout: string }, pattern: RegExp) => {
      expect(r.code).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^tabtune: /);
      expect(lines[0]).toMatch(pattern);
      expect(r.stdout).toBe('');
    };

    it('a truncated model file', () => {
      const dir = copy(LLAMA);
      truncateSync(join(dir, 'model.safetensors'), Math.floor(statSync(join(dir, 'model.safetensors')).size / 2));
      oneLine(tabtune('eval', '--model', dir, '--data', data, '--json'), /model\.safetensors/);
    });

    it('a corrupted model file header', () => {
      const dir = copy(LLAMA);
      const bytes = readFileSync(join(dir, 'model.safetensors'));
      bytes.write('{"x": [', 8);
      writeFileSync(join(dir, 'model.safetensors'), bytes);
      oneLine(tabtune('generate', '--model', dir, '--prompt-ids', '1,2', '--max-new-tokens', '2'), /model\.safetensors/);
    });

    it('a config missing a field', () => {
      const dir = copy(LLAMA);
      const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      delete cfg.hidden_size;
      writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
      oneLine(tabtune('eval', '--model', dir, '--data', data), /config\.json.*hidden_size/);
    });

    it('a tokenizer.json with an unknown pre-tokenizer', () => {
      const dir = copy(join(FIX, 'tokenizers/bpe512-chat'));
      const tok = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
      tok.pre_tokenizer = { type: 'Bogus' };
      writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tok));
      oneLine(tabtune('tokenize', '--model', dir, '--text', 'hello'), /tokenizer\.json.*Bogus/);
    });

    it('an adapter whose shapes do not fit the model', () => {
      const adapter = copy(join(LLAMA, 'adapter'));
      const cfg = JSON.parse(readFileSync(join(adapter, 'adapter_config.json'), 'utf8'));
      cfg.r = 8;
      writeFileSync(join(adapter, 'adapter_config.json'), JSON.stringify(cfg));
      oneLine(tabtune('eval', '--model', LLAMA, '--adapter', adapter, '--data', data), /adapter_model\.safetensors.*shape/);
    });

    it('an unknown flag is a usage error (exit 2)', () => {
      const r = tabtune('train', '--bogus', '1');
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  });
});
