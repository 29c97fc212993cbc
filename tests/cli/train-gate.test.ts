/**
 * The adapter gate through the built CLI: train-gate writes gate.safetensors and gate_config.json
 * and scores held-out files; generate --gate mixes the adapters the gate names; a gate with all
 * its weight on one adapter answers as that adapter alone; bad input is one line.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors } from '../../src/core/formats/safetensors.ts';
import { buildCli, lastRecord, LLAMA, runCli } from './cli-harness.ts';
import { writeRandomAdapter } from './random-adapter.ts';

const PROMPT = 'the cat sat on';

const oneLine = (r: { code: number; stderr: string }, code: number, line: RegExp) => {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('tabtune: ') && !l.startsWith('tabtune: using'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(line);
};
const greedy = ['--model', LLAMA, '--prompt', PROMPT, '--greedy', '--max-new-tokens', '5', '--ignore-eos', '--json'];

let tmp = '';
let A = '';
let B = '';
let data = '';
beforeAll(() => {
  buildCli();
  tmp = mkdtempSync(join(tmpdir(), 'tabtune-gate-'));
  A = writeRandomAdapter(join(tmp, 'a'), 4, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], 1);
  B = writeRandomAdapter(join(tmp, 'b'), 2, ['v_proj', 'down_proj'], 2);
  data = join(tmp, 'mix.jsonl');
  const words = ['the cat sat on the mat', 'a dog ran in the park', 'the sun is warm today', 'birds sing in the morning'];
  writeFileSync(data, words.map((w, i) => JSON.stringify({ prompt: `${w} ${i}`, completion: ` ${words[(i + 1) % 4]}` })).join('\n') + '\n');
});

describe('tabtune train-gate and generate --gate', () => {
  it('trains the gate only, writes gate.safetensors + gate_config.json, scores held-out data; generate --gate uses it', () => {
    const out = join(tmp, 'gate');
    const r = lastRecord<{ gate: { adapters: string[]; steps: number; first_loss: number; last_loss: number }; eval: { loss: Record<string, number> }[] }>(
      runCli(['train-gate', '--model', LLAMA, '--adapter', `a=${A}`, '--adapter', `b=${B}`, '--data', data, '--out', out,
        '--steps', '4', '--batch', '2', '--lr', '0.05', '--eval-data', data, '--json']),
    );
    expect(r.gate).toMatchObject({ adapters: ['a', 'b'], steps: 4 });
    expect(Number.isFinite(r.gate.last_loss)).toBe(true);
    expect(Object.keys(r.eval[0]!.loss).sort()).toEqual(['a', 'b', 'base', 'even', 'gate']);
    for (const v of Object.values(r.eval[0]!.loss)) expect(Number.isFinite(v)).toBe(true);
    // The trained gate differs from the even mixture it started at.
    expect(r.eval[0]!.loss.gate).not.toBe(r.eval[0]!.loss.even);
    expect(existsSync(join(out, 'gate.safetensors'))).toBe(true);
    const config = JSON.parse(readFileSync(join(out, 'gate_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ gate_type: 'token_softmax', gate_input: 'input_layernorm', num_adapters: 2, num_layers: 2, hidden_size: 64 });
    expect(config.adapters).toEqual([{ name: 'a', path: A, r: 4 }, { name: 'b', path: B, r: 2 }]);

    // From the folders gate_config.json names, or from --adapter: the same answer.
    const named = lastRecord<{ ids: number[] }>(runCli(['generate', ...greedy, '--gate', out]));
    const given = lastRecord<{ ids: number[] }>(runCli(['generate', ...greedy, '--gate', out, '--adapter', `b=${B}`, '--adapter', `a=${A}`]));
    expect(given.ids).toEqual(named.ids);
  });

  it('a gate with all its weight on one adapter answers as that adapter alone', () => {
    const dir = writeOneHotGate(join(tmp, 'one-hot'));
    const gated = lastRecord<{ ids: number[] }>(runCli(['generate', ...greedy, '--gate', dir]));
    const b = lastRecord<{ ids: number[] }>(runCli(['generate', ...greedy, '--adapter', B]));
    const a = lastRecord<{ ids: number[] }>(runCli(['generate', ...greedy, '--adapter', A]));
    expect(a.ids).not.toEqual(b.ids);
    expect(gated.ids).toEqual(b.ids);
  });

  /** A gate folder over a and b with gate weight 1 on b for every token (softmax of biases −40, 40). */
  function writeOneHotGate(dir: string): string {
    mkdirSync(dir);
    const tensors = [0, 1].flatMap((l) => [
      { name: `model.layers.${l}.adapter_gate.weight`, dtype: 'F32' as const, shape: [2, 64], data: new Float32Array(128) },
      { name: `model.layers.${l}.adapter_gate.bias`, dtype: 'F32' as const, shape: [2], data: Float32Array.of(-40, 40) },
    ]);
    writeFileSync(join(dir, 'gate.safetensors'), writeSafetensors(tensors));
    writeFileSync(join(dir, 'gate_config.json'), JSON.stringify({
      gate_type: 'token_softmax', gate_input: 'input_layernorm', num_adapters: 2, num_layers: 2, hidden_size: 64,
      adapters: [{ name: 'a', path: A, r: 4 }, { name: 'b', path: B, r: 2 }], base_model_name_or_path: null,
    }));
    return dir;
  }

  it('bad input: one adapter, a DoRA adapter, adapters of different bases, a gate given other adapters', () => {
    const base = ['train-gate', '--model', LLAMA, '--data', data, '--out', join(tmp, 'never'), '--steps', '1'];
    oneLine(runCli([...base, '--adapter', `a=${A}`]), 2, /--adapter must be given two or more times \(NAME=DIR\), got 1/);
    const dora = writeRandomAdapter(join(tmp, 'dora'), 2, ['v_proj'], 3, { config: { use_dora: true } });
    oneLine(runCli([...base, '--adapter', `a=${A}`, '--adapter', `d=${dora}`]), 1, /adapter "d": is a DoRA adapter; the adapter gate mixes plain LoRA adapters only/);
    const x = writeRandomAdapter(join(tmp, 'x'), 2, ['v_proj'], 4, { config: { base_model_name_or_path: 'org/one' } });
    const y = writeRandomAdapter(join(tmp, 'y'), 2, ['v_proj'], 5, { config: { base_model_name_or_path: 'org/two' } });
    oneLine(runCli([...base, '--adapter', `x=${x}`, '--adapter', `y=${y}`]), 1, /adapter "y": was trained on "org\/two" but adapter "x" on "org\/one"/);
    expect(existsSync(join(tmp, 'never'))).toBe(false);
    const gate = writeOneHotGate(join(tmp, 'other-names'));
    oneLine(runCli(['generate', ...greedy, '--gate', gate, '--adapter', `a=${A}`, '--adapter', `c=${B}`]), 1,
      /gate_config\.json: the gate mixes a, b; give exactly those as --adapter NAME=DIR \(got a, c\)/);
    oneLine(runCli(['generate', ...greedy, '--gate', gate, '--use', 'a', '--adapter', `a=${A}`]), 2, /--gate mixes its adapters itself/);
    expect(runCli(['train-gate', '--help']).code).toBe(0);
  });
});
