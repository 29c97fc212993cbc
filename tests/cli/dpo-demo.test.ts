import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, jsonLines, ROOT, runCli } from './cli-harness.ts';

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

beforeAll(buildCli);
const tabtune = (cwd: string, ...args: string[]) => runCli(args, { cwd });

const EVAL = join(ROOT, 'public/datasets/demo-grounded-qa-eval.jsonl');

/**
 * The issue's DPO check on the demo task, as TRL users run DPO: supervised fine-tuning first (the
 * demo's run), its adapter merged into the base, then LoRA-DPO on the merged model, whose
 * reference (adapter off) is the SFT model. Pairs: chosen = the region the passage names,
 * rejected = another region drawn as often as regions are right answers, so a model that ignores
 * the passage wins about half of them (0.45 of the held-out pairs by a region prior); held-out
 * pairs are about the demo's 40 held-out questions (countries no training record mentions).
 * Plain DPO (β 0.1) reached held-out accuracy 0.925 but its greedy answers moved away from the
 * chosen ones (contains 77.5% → 60%; chosen log-prob −2.23 → −3.73): DPO only needs the rejected
 * answers to fall faster. TRL's rpo_alpha adds the chosen answers' NLL, which keeps them likely.
 */
describe('DPO on the demo task', () => {
  // The three steps share one folder and run in order; each has its own time so a slow or failing step is named.
  // (Measured alone on a nearly idle 2-core machine: the demo 159 s, DPO 152 s, the greedy answers 21 s. Shorter
  // runs lose the figures: a 30-step SFT model reads too little, held-out accuracy 0.6 and greedy answers unchanged.)
  const dir = tmp('tabtune-dpo-demo-');
  let sftGreedy: number | undefined;
  let dpoTrained = false;

  it('the starting point: the demo\'s SFT run, merged into the base, answers the held-out questions', () => {
    const build = (...args: string[]) => execFileSync(process.execPath, [join(ROOT, 'scripts/build-preference-demo.mjs'), ...args], { cwd: ROOT, stdio: 'pipe' });
    build(join(dir, 'train.jsonl'), '160', '7');
    build(join(dir, 'held.jsonl'), '40', '9', '--eval');
    // The demo scores the SFT model's greedy answers to the 40 held-out questions (the same scorer as eval --generate).
    const sft = tabtune(dir, 'demo', '--out', join(dir, 'sft'), '--json');
    expect(sft.code, sft.stderr).toBe(0);
    const greedy = jsonLines(sft.stdout).at(-1).after.contains;
    // Measured 77.5–80% (README: 0% before).
    expect(greedy).toBeGreaterThan(0.5);
    const merged = tabtune(dir, 'merge', '--adapter', join(dir, 'sft'), '--out', join(dir, 'merged'));
    expect(merged.code, merged.stderr).toBe(0);
    sftGreedy = greedy;
  }, 900_000);

  it('30 DPO steps (rpo_alpha 1) from the demo SFT model: held-out rewards/accuracies > 0.8, the chosen answers stay as likely', () => {
    expect(sftGreedy, 'needs the merged SFT model of the test above').toBeDefined();
    const r = tabtune(dir,
      'train', '--method', 'dpo', '--rpo-alpha', '1', '--model', join(dir, 'merged'), '--data', join(dir, 'train.jsonl'),
      '--val-data', join(dir, 'held.jsonl'), '--out', join(dir, 'dpo'), '--steps', '30', '--lr', '7e-4', '--warmup', '0', '--json');
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    const [before, after] = lines.filter((l) => 'eval' in l).map((l) => l.eval);
    expect(lines.filter((l) => 'step' in l)).toHaveLength(30);
    // Policy = reference at the start: ln 2 and no reward for every pair, plus α × the chosen NLL.
    expect(before.loss - before.nll_loss).toBeCloseTo(Math.LN2, 6);
    expect(before['rewards/accuracies']).toBe(0);
    // Measured 0.925 (37 of 40), as plain DPO.
    expect(after['rewards/accuracies']).toBeGreaterThan(0.8);
    expect(after['rewards/margins']).toBeGreaterThan(0);
    expect(after.loss).toBeLessThan(before.loss);
    // The chosen answers stay as likely (measured −2.23 → −1.81) and the greedy answers get right more often.
    expect(after['logps/chosen']).toBeGreaterThanOrEqual(before['logps/chosen']);
    dpoTrained = true;
  }, 900_000);

  it('the DPO model\'s greedy answers move toward the chosen ones', () => {
    expect(dpoTrained, 'needs the DPO adapter of the test above').toBe(true);
    const greedy = tabtune(dir, 'eval', '--model', join(dir, 'merged'), '--adapter', join(dir, 'dpo'), '--data', EVAL, '--generate', '40', '--json');
    expect(greedy.code, greedy.stderr).toBe(0);
    // Measured: "contains" 77.5% after SFT → 90% (36 of 40) after DPO with rpo_alpha 1 (60% without).
    expect(jsonLines(greedy.stdout).at(-1).contains).toBeGreaterThan(sftGreedy!);
  }, 300_000);
});
