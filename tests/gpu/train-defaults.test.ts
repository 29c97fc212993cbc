import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDataset } from '../../src/core/data/import.ts';
import { padRows, rowLength } from '../../src/core/data/rows.ts';
import { tokenizeRecords } from '../../src/core/data/tokenize.ts';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { defaultTrainConfig } from '../../src/core/train/defaults.ts';
import type { TrainEvent } from '../../src/core/train/events.ts';
import { Trainer } from '../../src/core/train/trainer.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { testGpu } from './gpu-harness.ts';

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const DEMO = path('public/models/demo-base');
const TINY = path('tests/fixtures/hf/models/tiny-llama');
/** Examples per dataset: a small first dataset, the case where the defaults must hold. */
const EXAMPLES = 60;
/** Steps run: past the warmup, at the peak learning rate, where a bad default diverges. */
const STEPS = 12;

/**
 * The first steps of a run with every setting from `defaultTrainConfig`, on the bundled datasets:
 * the run must not fail, every loss must be finite, no loss may climb far above the first, and
 * the loss must fall.
 */
async function firstSteps(modelDir: string, dataset: string, maxLength: number): Promise<number[]> {
  const gpu = await testGpu();
  const tok = await Tokenizer.fromTree(nodeFileTree(modelDir));
  const { records } = parseDataset(dataset, readFileSync(path(`public/datasets/${dataset}`)));
  const examples = tokenizeRecords(records, tok, { maxLength, maskPrompt: true }).examples.slice(0, EXAMPLES);
  const model = await loadTransformer(gpu, nodeFileTree(modelDir));
  const { config } = defaultTrainConfig({ parameters: model.weights.store.count }, { examples: examples.length });
  expect(config.warmup).toBeLessThan(STEPS);
  model.lora = LoraAdapter.create(gpu, model.cfg, { ...config.lora, targets: resolveTargets(model.cfg.arch, 'all-linear') }, config.seed);
  const seq = rowLength(examples, maxLength);
  const events: TrainEvent[] = [];
  let trainer: Trainer | null = null;
  trainer = await Trainer.create({
    model, config, seq, train: padRows(examples, seq, model.cfg.padTokenId ?? 0),
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'step' && e.step >= STEPS) trainer?.stop();
    },
  });
  const summary = await trainer.run();
  trainer.destroy();
  model.destroy();
  expect(summary.state, summary.message).toBe('stopped');
  expect(events.filter((e) => e.type === 'alert')).toEqual([]);
  return events.flatMap((e) => (e.type === 'step' ? [e.loss] : []));
}

describe('default training settings', () => {
  // tiny-llama holds 128 positions: the grounded passages, about 200 of its tokens, do not fit it.
  const cases = [
    ['the demo model', DEMO, 'demo-grounded-qa.jsonl', 96],
    ['the demo model', DEMO, 'factbook-qa.jsonl', 96],
    ['tiny-llama', TINY, 'factbook-qa.jsonl', 96],
  ] as const;
  for (const [name, dir, dataset, maxLength] of cases) {
    it(`do not diverge: ${name} on ${dataset}`, async () => {
      const losses = await firstSteps(dir, dataset, maxLength);
      console.log(`${name} on ${dataset}: ${losses.map((l) => l.toFixed(2)).join(' ')}`);
      expect(losses.length).toBeGreaterThanOrEqual(STEPS);
      losses.forEach((l) => expect(Number.isFinite(l)).toBe(true));
      expect(Math.max(...losses)).toBeLessThan(1.5 * losses[0]!);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(mean(losses.slice(-3))).toBeLessThan(mean(losses.slice(0, 3)));
    });
  }
});
