import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, jsonLines, LLAMA, referenceData, tabtune } from './cli-harness.ts';

beforeAll(buildCli);

describe('tabtune train --quant and --fit', () => {
  const { ref, data } = referenceData();

  it('refuses a quantised base for full fine-tuning, disagreeing flags and unknown kinds, before any work', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tabtune-out-')), 'run');
    for (const [args, why] of [
      [['--quant', 'int4', '--method', 'full'], /--quant int4 holds the base frozen; it trains with LoRA only/],
      [['--int8', '--quant', 'int4'], /--int8 and --quant int4 disagree/],
      [['--quant', 'int3'], /--quant must be one of none, int8, int4/],
    ] as const) {
      const r = tabtune('train', '--model', LLAMA, '--data', data, '--out', out, ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(why);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('evaluates and generates on an NF4 base: the loss moves, by under 1%', () => {
    const ev = (q: string) => jsonLines(tabtune('eval', '--model', LLAMA, '--data', data, '--quant', q, '--json').stdout)[0].loss as number;
    const [f32, nf4] = [ev('none'), ev('int4')];
    expect(Math.abs(f32 - ref.loss)).toBeLessThan(1e-4 * ref.loss);
    expect(Math.abs(nf4 - f32)).toBeGreaterThan(1e-4 * f32);
    expect(Math.abs(nf4 - f32) / f32).toBeLessThan(0.01);
    const g = jsonLines(tabtune('generate', '--model', LLAMA, '--prompt-ids', '1,2,3', '--max-new-tokens', '4', '--greedy', '--quant', 'int4', '--json').stdout)[0];
    expect(g.ids).toHaveLength(4);
  });

  it('prints the plan, trains with it on an NF4 base and says what the adapter means', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tabtune-out-')), 'run');
    const r = tabtune('train', '--model', LLAMA, '--data', data, '--out', out, '--fit', '--gpu-memory', '64', '--quant', 'int4', '--batch', '2', '--steps', '2', '--json');
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    const fit = lines.find((l) => 'fit' in l).fit;
    expect(fit).toMatchObject({ fits: true, quant: 'int4', batch: 2, gradAccum: 1, gradCheckpointing: false, truncated: 0, precision: 'f32' });
    expect(fit.reasons.join('\n')).toMatch(/every example fits whole/);
    expect(lines.filter((l) => 'loss' in l)).toHaveLength(2);
    expect(lines.at(-1).done.state).toBe('finished');
    expect(r.stderr).toMatch(/trained against an NF4 \(4-bit\) base \(QLoRA\)/);
    const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    expect(config.peft_type).toBe('LORA');
    // The manifest records how the base was held; export and merge repeat QLoRA's caveat.
    const manifest = JSON.parse(readFileSync(join(out, 'run_manifest.json'), 'utf8'));
    expect(manifest.config).toMatchObject({ quant: 'int4', precision: 'f32' });
    const gguf = join(mkdtempSync(join(tmpdir(), 'tabtune-gguf-')), 'adapter.gguf');
    const e = tabtune('export', '--format', 'gguf-lora', '--model', LLAMA, '--adapter', out, '--out', gguf, '--no-modelfile');
    expect(e.code, e.stderr).toBe(0);
    expect(e.stderr).toMatch(/trained against an NF4 \(4-bit\) base \(QLoRA\)/);
    expect(existsSync(gguf)).toBe(true);
  });

  it('plans an f16 base under --precision auto where the GPU offers shader-f16, and the run records it', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tabtune-out-')), 'run');
    const r = tabtune('train', '--model', LLAMA, '--data', data, '--out', out, '--fit', '--precision', 'auto', '--batch', '2', '--steps', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const fit = jsonLines(r.stdout).find((l) => 'fit' in l).fit;
    // lavapipe offers shader-f16 (tests/gpu/mixed-precision.test.ts checks that).
    expect(fit).toMatchObject({ fits: true, quant: 'none', precision: 'f16' });
    expect(fit.reasons.join('\n')).toMatch(/precision auto: f16 because the adapter offers shader-f16/);
    const manifest = JSON.parse(readFileSync(join(out, 'run_manifest.json'), 'utf8'));
    expect(manifest.config).toMatchObject({ quant: 'none', precision: 'f16' });
    expect(r.stderr).not.toMatch(/QLoRA/);
  });
});
