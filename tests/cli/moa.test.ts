/**
 * Several adapters over one base and the mixture of agents through the built CLI: picking an
 * adapter gives what loading it alone gives, and with greedy decoding every proposal and the
 * aggregate equal direct generations of their prompts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, lastRecord, LLAMA, runCli } from './cli-harness.ts';
import { writeRandomAdapter } from './random-adapter.ts';

const PROMPT = 'the cat sat on';

interface Gen { ids: number[]; text: string }
interface Moa { layers: { proposer: string; adapter: string | null; text: string; ids: number[] }[][]; aggregator: { adapter: string; prompt: string }; final: Gen }

const greedy = ['--model', LLAMA, '--greedy', '--max-new-tokens', '5', '--ignore-eos', '--json'];
const direct = (prompt: string, adapter?: string) =>
  lastRecord<Gen>(runCli(['generate', ...greedy, '--prompt', prompt, ...(adapter ? ['--adapter', adapter] : [])]));

let A = '';
let B = '';
beforeAll(() => {
  buildCli();
  const tmp = mkdtempSync(join(tmpdir(), 'tabtune-moa-'));
  // Different ranks and target modules: each adapter applies its own.
  A = writeRandomAdapter(join(tmp, 'a'), 4, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], 1);
  B = writeRandomAdapter(join(tmp, 'b'), 2, ['v_proj', 'down_proj'], 2);
});

describe('tabtune generate with several adapters', () => {
  it('--use picks one adapter: the same answer as loading that adapter alone; "base" is the model without one', () => {
    const both = ['generate', ...greedy, '--prompt', PROMPT, '--adapter', `a=${A}`, '--adapter', `b=${B}`];
    const alone = { a: direct(PROMPT, A), b: direct(PROMPT, B), base: direct(PROMPT) };
    expect(alone.a.ids).not.toEqual(alone.base.ids);
    expect(lastRecord<Gen>(runCli([...both, '--use', 'b'])).ids).toEqual(alone.b.ids);
    expect(lastRecord<Gen>(runCli(both)).ids).toEqual(alone.a.ids);
    expect(lastRecord<Gen>(runCli([...both, '--use', 'base'])).ids).toEqual(alone.base.ids);
  });

  it('--moa (1 and 2 layers, greedy): each proposal and the aggregate equal direct generations of their prompts', () => {
    const moa = ['generate', ...greedy, '--prompt', PROMPT, '--adapter', `a=${A}`, '--adapter', `b=${B}`, '--moa', '--aggregator', 'b'];
    const one = lastRecord<Moa>(runCli([...moa, '--proposers', 'a,base']));
    expect(one.layers).toHaveLength(1);
    expect(one.layers[0]!.map((p) => [p.proposer, p.adapter])).toEqual([['a', 'a'], ['base', null]]);
    expect(one.layers[0]![0]!.ids).toEqual(direct(PROMPT, A).ids);
    expect(one.layers[0]![1]!.ids).toEqual(direct(PROMPT).ids);
    const list = one.layers[0]!.map((p, i) => `${i + 1}. ${p.text.trim().replace(/\s*\n\s*/g, ' ')}`).join('\n');
    expect(one.aggregator).toEqual({
      adapter: 'b',
      prompt: `Several assistants answered the question below. Their answers:\n${list}\n\nWrite one answer that keeps what is correct in them.\n\n${PROMPT}`,
    });
    expect(one.final.ids).toEqual(direct(one.aggregator.prompt, B).ids);

    const two = lastRecord<Moa>(runCli([...moa, '--moa-layers', '2', '--aggregator-prompt', 'Q: {question}\nA: {proposals}\nQ: {question}\nA:']));
    expect(two.layers.map((l) => l.map((p) => p.proposer))).toEqual([['a', 'b'], ['a', 'b']]);
    const second = `Q: ${PROMPT}\nA: ${two.layers[0]!.map((p, i) => `${i + 1}. ${p.text.trim().replace(/\s*\n\s*/g, ' ')}`).join('\n')}\nQ: ${PROMPT}\nA:`;
    expect(two.layers[1]![0]!.ids).toEqual(direct(second, A).ids);
    expect(two.layers[1]![1]!.ids).toEqual(direct(second, B).ids);
    expect(two.final.ids).toEqual(direct(two.aggregator.prompt, B).ids);
  });

  it('bad choices: one line naming the flag; an adapter that does not fit the base is refused by name', () => {
    const base = ['generate', '--model', LLAMA, '--prompt', PROMPT, '--adapter', `a=${A}`, '--adapter', `b=${B}`];
    const cases: [string[], number, string][] = [
      [['--use', 'c'], 2, 'tabtune: --use must be one of base, a, b, got "c"'],
      [['--proposers', 'a'], 2, 'tabtune: --proposers needs --moa'],
      [['--moa', '--proposers', 'a@0'], 2, 'tabtune: --proposers takes NAME or NAME@T with a temperature T > 0, got "a@0"'],
      [['--moa', '--aggregator', 'x'], 2, 'tabtune: --aggregator must be one of base, a, b, got "x"'],
      [['--moa', '--aggregator-prompt', 'no slots'], 2, 'tabtune: --aggregator-prompt: the aggregator prompt needs {question} and {proposals} in it'],
      [['--adapter', `a=${B}`], 2, 'tabtune: --adapter names "a" twice; name each adapter (NAME=DIR)'],
    ];
    for (const [extra, code, line] of cases) {
      const r = runCli([...base, ...extra]);
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('tabtune: ') && !l.startsWith('tabtune: using'))).toEqual([line]);
    }
    const wide = writeRandomAdapter(join(mkdtempSync(join(tmpdir(), 'tabtune-moa-')), 'wide'), 2, ['q_proj'], 3, { hidden: 96 });
    const r = runCli([...base, '--adapter', `w=${wide}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/adapter_model\.safetensors: tensor "base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight": shape \[2,96\]/);
  });
});
