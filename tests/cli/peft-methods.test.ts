/**
 * DoRA, LoRA+, PiSSA, freezing and half fine-tuning through the built CLI: the files each run
 * writes, and one clear error line for settings that do not fit.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, LLAMA, runCli } from './cli-harness.ts';

const errLines = (s: string) => s.split('\n').filter((l) => l.startsWith('tabtune: '));

/** Safetensors header: tensor name → shape. */
function shapes(path: string): Record<string, number[]> {
  const b = readFileSync(path);
  const n = Number(b.readBigUInt64LE(0));
  const h = JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape: number[] }>;
  return Object.fromEntries(Object.entries(h).filter(([k]) => k !== '__metadata__').map(([k, v]) => [k, v.shape]));
}

let data = '';
beforeAll(() => {
  buildCli();
  data = join(mkdtempSync(join(tmpdir(), 'tabtune-peft-')), 'count.jsonl');
  writeFileSync(data, Array.from({ length: 8 }, (_, i) => JSON.stringify({ prompt: `count ${i}`, completion: `${i + 1} ${i + 2} ${i + 3}` })).join('\n'));
});

const train = (out: string, extra: string[]) =>
  runCli(['train', '--model', LLAMA, '--data', data, '--out', out, '--steps', '2', '--batch', '2', '--lr', '1e-3', '--json', ...extra]);

describe('parameter-efficient methods and freezing (CLI)', () => {
  it('--use-dora --loraplus-lr-ratio: a PEFT DoRA adapter with lora_magnitude_vector, LoRA+ recorded in the manifest', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tabtune-dora-')), 'a');
    const r = train(out, ['--use-dora', '--loraplus-lr-ratio', '16', '--lora-r', '4']);
    expect(r.code, r.stderr).toBe(0);
    const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ use_dora: true, r: 4 });
    const st = shapes(join(out, 'adapter_model.safetensors'));
    expect(st['base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector']).toEqual([64]);
    expect(Object.keys(st).length).toBe(3 * 7 * 2);
    const manifest = JSON.parse(readFileSync(join(out, 'run_manifest.json'), 'utf8')) as { config: { loraplusLrRatio: number; lora: { dora: boolean } } };
    expect(manifest.config.loraplusLrRatio).toBe(16);
    expect(manifest.config.lora.dora).toBe(true);
  });

  it('--init-lora-weights pissa: the adapter is a plain rank-2r LoRA for the original base', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tabtune-pissa-')), 'a');
    const r = train(out, ['--init-lora-weights', 'pissa_niter_2', '--lora-r', '4', '--lora-alpha', '8']);
    expect(r.code, r.stderr).toBe(0);
    const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ r: 8, lora_alpha: 16, init_lora_weights: true });
    expect(shapes(join(out, 'adapter_model.safetensors'))['base_model.model.model.layers.1.mlp.down_proj.lora_B.weight']).toEqual([64, 8]);
  });

  it('--tune full --train-last 1: a model folder whose changed_tensors.json lists what trained', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tabtune-freeze-')), 'm');
    const r = train(out, ['--tune', 'full', '--train-last', '1']);
    expect(r.code, r.stderr).toBe(0);
    const changed = JSON.parse(readFileSync(join(out, 'changed_tensors.json'), 'utf8')) as { changed: string[]; unchanged: string[] };
    expect(changed.changed.every((n) => n.startsWith('model.layers.1.') || n === 'model.norm.weight')).toBe(true);
    expect(changed.unchanged).toContain('model.embed_tokens.weight');
    expect(changed.unchanged).toContain('model.layers.0.self_attn.q_proj.weight');
  });

  it('settings that do not fit are refused before any work: one error line, exit 2 (a usage error)', () => {
    const out = () => join(mkdtempSync(join(tmpdir(), 'tabtune-bad-')), 'x');
    const cases: [string[], RegExp][] = [
      [['--tune', 'full', '--freeze-layers', '7'], /--freeze-layers: layer 7 is not in 0\.\.1/],
      [['--train-last', '1'], /--train-last, --freeze-layers and --train-modules are for --tune full/],
      [['--tune', 'full', '--train-modules', 'q_proj'], /--train-modules: "q_proj" is not one of attn, mlp/],
      [['--tune', 'full', '--half-ft', '2', '--train-last', '1'], /--half-ft chooses what trains itself/],
      [['--init-lora-weights', 'svd'], /--init-lora-weights must be default, pissa or pissa_niter_N/],
      [['--tune', 'full', '--use-dora'], /--use-dora is for LoRA runs/],
      [['--loraplus-lr-ratio', '0'], /--loraplus-lr-ratio/],
    ];
    for (const [args, want] of cases) {
      const r = train(out(), args);
      expect(r.code, args.join(' ')).toBe(2);
      const lines = errLines(r.stderr);
      expect(lines.length, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(lines[0]).toMatch(want);
    }
  });
});
