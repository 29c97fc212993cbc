import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, jsonLines, LLAMA, referenceData, tabtune } from './cli-harness.ts';

beforeAll(buildCli);

describe('tabtune train --precision', () => {
  const { ref, data } = referenceData();
  const train = (out: string, ...extra: string[]) =>
    tabtune('train', '--model', LLAMA, '--data', data, '--out', out, '--lr', '1e-2', '--schedule', 'constant',
      '--steps', '3', '--batch', '2', '--no-shuffle', '--json', ...extra);
  const losses = (stdout: string) => jsonLines(stdout).filter((l) => 'step' in l && 'loss' in l).map((l) => l.loss as number);

  it('f16 trains within 0.5% of PEFT\'s losses; auto picks f16 on lavapipe, the manifest records and repeats it', () => {
    // From the fixture's adapter: PEFT's three AdamW steps (reference.json, computed in float64).
    const fromRef = train(mkdtempSync(join(tmpdir(), 'tabtune-f16-')), '--precision', 'f16', '--init-adapter', join(LLAMA, 'adapter'));
    expect(fromRef.code, fromRef.stderr).toBe(0);
    const got = losses(fromRef.stdout);
    expect(got.length).toBe(3);
    got.forEach((l, i) => expect(Math.abs(l - ref.adamw.losses_before_each_step[i]) / ref.adamw.losses_before_each_step[i]).toBeLessThan(5e-3));
    const out = mkdtempSync(join(tmpdir(), 'tabtune-f16-'));
    const t = train(out, '--precision', 'auto');
    expect(t.code, t.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'run_manifest.json'), 'utf8'));
    expect(manifest.config.precision).toBe('f16');
    const again = tabtune('train', '--manifest', join(out, 'run_manifest.json'), '--out', mkdtempSync(join(tmpdir(), 'tabtune-f16b-')), '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(losses(again.stdout)).toEqual(losses(t.stdout));
  });

  it('refuses an unknown precision and f16 with --int8, as usage errors (exit 2, one line)', () => {
    const bad = train(mkdtempSync(join(tmpdir(), 'tabtune-x-')), '--precision', 'f8');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--precision/);
    const both = train(mkdtempSync(join(tmpdir(), 'tabtune-y-')), '--precision', 'f16', '--int8');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--int8\/--quant and --precision f16/);
    // Refused before any work: no GPU was opened, so stderr is that one line.
    expect(both.stderr.trim().split('\n')).toHaveLength(1);
  });
});
