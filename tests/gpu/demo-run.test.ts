import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDataset } from '../../src/core/data/import.ts';
import { tokenizeRecords } from '../../src/core/data/tokenize.ts';
import { Session } from '../../src/core/session.ts';
import { runDemo } from '../../src/core/pipeline/demo-job.ts';
import { DEMO_TASK, demoTrainConfig, showcase } from '../../src/core/train/demo-run.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { testGpu } from './gpu-harness.ts';

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

/** The demo pipeline at reduced size: the demo's run, judged on half of the held-out questions. */
describe('the demo (grounded question answering)', () => {
  it('teaches the demo model to answer held-out questions from the passage', async () => {
    const session = new Session(await testGpu());
    await session.loadModel(nodeFileTree(path('public/models/demo-base')));
    const load = (file: string) =>
      tokenizeRecords(parseDataset(file, readFileSync(path(`public/datasets/${file}`))).records, session.requireTokenizer(), { maxLength: DEMO_TASK.maxLength, maskPrompt: true }).examples;
    const train = load(`${DEMO_TASK.dataset}.jsonl`);
    const held = load(`${DEMO_TASK.dataset}-eval.jsonl`).slice(0, 20);
    const config = demoTrainConfig({ steps: DEMO_TASK.steps, lr: DEMO_TASK.lr, r: DEMO_TASK.r, seed: 42 });
    const describe = {
      model: { name: 'demo-base', source: { kind: 'demo' } },
      dataset: { name: DEMO_TASK.dataset, version: 1, records: [], maskPrompt: true, validationFraction: 0, splitSeed: 42 },
    };
    const r = await runDemo(session, train, held, {
      config, maxLength: DEMO_TASK.maxLength, seq: DEMO_TASK.seq, maxNewTokens: DEMO_TASK.maxNewTokens, describe, now: () => performance.now(),
    });
    console.log(`demo at reduced size: contains ${r.before.contains} -> ${r.after.contains}, exact ${r.before.exact} -> ${r.after.exact}, loss ${r.before.loss.toFixed(3)} -> ${r.after.loss.toFixed(3)}`);
    expect(r.summary.steps).toBe(DEMO_TASK.steps);
    expect(r.answers).toHaveLength(20);
    expect(r.before.contains).toBeLessThanOrEqual(0.1);
    expect(r.after.contains).toBeGreaterThanOrEqual(0.5);
    expect(r.after.loss).toBeLessThan(r.before.loss);
    const { fixed, missed } = showcase(r.answers, 4);
    expect(fixed.length).toBeGreaterThan(0);
    fixed.forEach((a) => expect(!a.baseContains && a.tunedContains).toBe(true));
    if (missed) expect(missed.tunedContains).toBe(false);
    expect(session.adapterInfo()?.r).toBe(DEMO_TASK.r);
    expect(Object.keys(r.files)).toEqual(expect.arrayContaining(['adapter_model.safetensors', 'adapter_config.json', 'run_manifest.json']));
    session.unloadModel();
  }, 1_800_000);
});
