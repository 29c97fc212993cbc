import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEMO_DATASET } from '../../src/app/lib/demo.ts';
import { formDefaults, trainingExamples } from '../../src/app/lib/train-defaults.ts';
import { defaultTrainConfig } from '../../src/core/train/defaults.ts';
import { DEMO_TASK } from '../../src/core/train/demo-run.ts';
import type { DatasetSummary } from '../../src/core/workspace/api.ts';

const dataset = (name: string, records: number): DatasetSummary => ({
  id: 'ds', name, createdAt: 0, format: 'jsonl', kinds: { chat: records, prompt: 0, text: 0 } as DatasetSummary['kinds'], columns: [], records,
  problems: [], problemCount: 0, options: { validationFraction: 0.1, splitSeed: 42, maxLength: 256, maskPrompt: true, packing: true },
  versions: [], currentVersion: 1, hash: '',
});
const demoModel = { parameters: 5.5e6, name: 'demo-base' };

describe("the app's training defaults", () => {
  it('are the demo task run for the demo dataset', () => {
    const d = formDefaults(demoModel, dataset(DEMO_DATASET.name, 585), 'lora');
    expect(d.values).toMatchObject({ lr: DEMO_TASK.lr, stopBy: 'steps', steps: DEMO_TASK.steps, r: DEMO_TASK.r, alpha: 2 * DEMO_TASK.r, dropout: 0, clip: 1 });
    expect(d.why[1]).toContain('learning rate 8e-3');
  });

  it('are the size rule for any other dataset, with one line per choice', () => {
    for (const [parameters, records] of [[5.5e6, 40], [135e6, 5000], [1.5e9, 300]] as const) {
      const ds = dataset('mine.jsonl', records);
      const d = formDefaults({ parameters, name: 'm' }, ds, 'lora');
      const rule = defaultTrainConfig({ parameters }, { examples: trainingExamples(ds) }, 'lora').config;
      expect(d.values).toMatchObject({ lr: rule.lr, warmup: rule.warmup, batch: rule.batch, epochs: rule.epochs, stopBy: 'epochs', clip: rule.clip, r: rule.lora.r });
      expect(d.values.steps).toBe(Math.ceil(trainingExamples(ds) / rule.batch) * rule.epochs);
      expect(d.why).toHaveLength(5);
    }
    const full = formDefaults(demoModel, dataset(DEMO_DATASET.name, 585), 'full');
    expect(full.values.lr).toBe(defaultTrainConfig({ parameters: 5.5e6 }, { examples: 527 }, 'full').config.lr);
    expect(full.why).toHaveLength(4);
  });

  it('ask the classroom questions of the held-out file, and name the files the CLI demo uses', () => {
    const held = readFileSync(new URL(`../../public/${DEMO_DATASET.heldOut.path}`, import.meta.url), 'utf8').trim().split('\n');
    const questions = held.map((l) => (JSON.parse(l) as { messages: { content: string }[] }).messages[0]!.content);
    expect(questions.slice(0, 3)).toEqual(DEMO_DATASET.classroomPrompts);
    const train = readFileSync(new URL(`../../public/${DEMO_DATASET.path}`, import.meta.url), 'utf8');
    for (const q of DEMO_DATASET.classroomPrompts) expect(train).not.toContain(JSON.stringify(q));
  });
});
