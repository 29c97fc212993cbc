import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pickedFolder, testWorkbench } from './workbench-harness.ts';
import { FACTS } from './cpt-facts.ts';
import type { RunEvent } from '../../src/core/workspace/api.ts';

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const DEMO = path('public/models/demo-base');
const enc = (s: string) => new TextEncoder().encode(s);

describe('continued pre-training through the Worker API', () => {
  it('imports documents, trains on them, and keeps both perplexities before and after with the run', async () => {
    const wb = await testWorkbench();
    await wb.loadModel({ kind: 'local', name: 'demo-base' }, pickedFolder(DEMO, 'demo-base'));
    const ds = await wb.importDocuments([
      { name: 'vellmora.md', bytes: enc(FACTS[0]!) },
      { name: 'lantern.txt', bytes: enc(FACTS[1]!) },
      { name: 'more.jsonl', bytes: enc(FACTS.slice(2).map((text) => JSON.stringify({ text })).join('\n')) },
    ]);
    expect(ds.records).toBe(8);
    await wb.updateDatasetOptions(ds.id, { maxLength: 32, validationFraction: 0.25 });
    const general = { name: 'general-sample.jsonl', bytes: new Uint8Array(readFileSync(path('public/datasets/general-sample.jsonl'))) };
    const config = { method: 'lora' as const, steps: 8, batch: 2, lr: 5e-3, schedule: 'constant' as const, warmup: 0, seed: 5, lora: { r: 8, alpha: 16 } };

    // A dataset that is not documents is refused with the line and the reason.
    const chatLine = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }] });
    const chat = await wb.importDataset('chat.jsonl', enc(chatLine));
    await expect(wb.startRun({ datasetId: chat.id, config, cpt: { general } }, () => undefined)).rejects.toThrow(/chat\.jsonl line 1 is a chat record/);
    expect(await wb.listRuns()).toEqual([]);

    const events: RunEvent[] = [];
    const runId = await wb.startRun({ datasetId: ds.id, config, cpt: { general } }, (e) => events.push(e));
    while (await wb.activeRunId()) await new Promise((r) => setTimeout(r, 50));
    const run = await wb.getRun(runId);
    expect(run.state).toBe('finished');
    expect(run.name).toContain('CPT LoRA r8');
    expect(run.cpt).toMatchObject({ seq: 32, overlap: 0, heldOut: 0.25 });
    const e = run.cptEval!;
    expect(e.data).toMatchObject({ trainDocuments: 6, heldOutDocuments: 2, generalDocuments: 14 });
    const { before, after } = { before: e.before, after: e.after! };
    console.log(`app CPT: new documents ${before.newDocuments.perplexity.toFixed(1)} -> ${after.newDocuments.perplexity.toFixed(1)},`
      + ` general ${before.general.perplexity.toFixed(1)} -> ${after.general.perplexity.toFixed(1)}`);
    expect(after.newDocuments.perplexity).toBeLessThan(0.5 * before.newDocuments.perplexity);
    expect(after.general.tokens).toBe(before.general.tokens);
    expect(Number.isFinite(after.general.perplexity) && after.general.perplexity > 1).toBe(true);
    expect(events.filter((x) => x.type === 'step')).toHaveLength(8);

    // Saved with the run as the CLI writes them: the manifest and cpt_eval.json.
    const saved = await wb.exportManifest(runId);
    const m = JSON.parse(new TextDecoder().decode(saved.find((f) => f.name === 'run_manifest.json')!.bytes));
    expect(m.dataset).toMatchObject({ maskPrompt: false, packing: true, maxLength: 32 });
    const cpt = JSON.parse(new TextDecoder().decode(saved.find((f) => f.name === 'cpt_eval.json')!.bytes));
    expect(cpt.after.newDocuments.perplexity).toBeCloseTo(after.newDocuments.perplexity, 6);
    expect(cpt.before.general.perplexity).toBeCloseTo(before.general.perplexity, 6);
  });
});
