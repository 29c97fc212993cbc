import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readDocuments, type Document } from '../../src/core/data/documents.ts';
import { CptRun } from '../../src/core/pipeline/cpt.ts';
import { Session } from '../../src/core/session.ts';
import { trainConfig } from '../../src/core/train/config.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { testGpu } from './gpu-harness.ts';
import { FACTS } from './cpt-facts.ts';

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

describe('continued pre-training on new documents', () => {
  it('the held-out new documents\' perplexity falls; the general sample is scored before and after', async () => {
    const session = new Session(await testGpu());
    await session.loadModel(nodeFileTree(path('public/models/demo-base')));
    const documents: Document[] = FACTS.map((text, i) => ({ text, source: { file: 'facts.jsonl', line: i + 1 } }));
    const generalFile = path('public/datasets/general-sample.jsonl');
    const general = readDocuments(generalFile, new Uint8Array(readFileSync(generalFile)));
    const config = trainConfig({ method: 'lora', steps: 8, batch: 2, lr: 5e-3, schedule: 'constant', warmup: 0, seed: 5, lora: { r: 8, alpha: 16 } });
    const run = await CptRun.create({
      session, config, options: { seq: 32, overlap: 0, heldOut: 0.25 }, documents, general,
      describe: { model: { name: 'demo-base', source: { kind: 'demo' } }, datasetName: 'facts.jsonl' },
    });
    expect(run.data).toMatchObject({ trainDocuments: 6, heldOutDocuments: 2, generalDocuments: general.length });
    const r = await run.run();
    run.destroy();
    const { before, after } = r;
    console.log(`CPT: new documents ${before.newDocuments.perplexity.toFixed(1)} -> ${after.newDocuments.perplexity.toFixed(1)},`
      + ` general ${before.general.perplexity.toFixed(1)} -> ${after.general.perplexity.toFixed(1)}`);
    expect(r.summary.state).toBe('finished');
    expect(r.summary.steps).toBe(8);
    expect(after.newDocuments.perplexity).toBeLessThan(0.5 * before.newDocuments.perplexity);
    expect(before.newDocuments.tokens).toBe(after.newDocuments.tokens);
    // The trainer's validation (packed held-out rows) and the score (one window per sequence) agree.
    expect(Math.abs(r.summary.bestValLoss! - after.newDocuments.loss)).toBeLessThan(1e-4 * after.newDocuments.loss);
    for (const p of [before.general, after.general]) expect(Number.isFinite(p.perplexity) && p.perplexity > 1).toBe(true);
    expect(before.general.tokens).toBeGreaterThan(500);
    // The run files: the adapter, the manifest (text data, every token a target) and both scores.
    const files = r.files!;
    expect(Object.keys(files)).toEqual(expect.arrayContaining(['adapter_model.safetensors', 'run_manifest.json', 'cpt_eval.json']));
    const manifest = JSON.parse(new TextDecoder().decode(files['run_manifest.json']));
    expect(manifest.dataset).toMatchObject({ format: 'text', maskPrompt: false, packing: true, maxLength: 32 });
    const saved = JSON.parse(new TextDecoder().decode(files['cpt_eval.json']));
    expect(saved.after.newDocuments.perplexity).toBeCloseTo(after.newDocuments.perplexity, 6);
    expect(saved.before.general.perplexity).toBeCloseTo(before.general.perplexity, 6);
    session.dispose();
  });
});
