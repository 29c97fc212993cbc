import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pickedFolder, testWorkbench } from './workbench-harness.ts';

const TINY = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));
const WORDS = ['sun', 'moon', 'star', 'sky', 'sea', 'tree', 'rock', 'bird', 'rain', 'snow'];

/** Pairs the tiny model can learn: the chosen answer repeats the word, the rejected one names another. */
function pairs(n: number): Uint8Array {
  const lines = Array.from({ length: n }, (_, i) => {
    const w = WORDS[i % WORDS.length]!;
    return JSON.stringify({ prompt: `say ${w}`, chosen: ` ${w}`, rejected: ` ${WORDS[(i + 3) % WORDS.length]}` });
  });
  return new TextEncoder().encode(lines.join('\n'));
}

describe('held-out evaluation of preference runs through the Worker API', () => {
  it('holds out the validation share of pairs and keeps their loss and rewards before and after a DPO run', async () => {
    const wb = await testWorkbench();
    await wb.loadModel({ kind: 'local', name: 'tiny-llama' }, pickedFolder(TINY, 'tiny-llama'));
    const ds = await wb.importDataset('pairs.jsonl', pairs(20), { validationFraction: 0.25, maxLength: 32 });
    expect(ds.preference).toBe('paired');
    const config = { method: 'lora' as const, steps: 10, batch: 2, lr: 2e-2, schedule: 'constant' as const, warmup: 0, seed: 3, lora: { r: 8, alpha: 16 } };
    const runId = await wb.startRun({ datasetId: ds.id, config, preference: { method: 'dpo' } }, () => undefined);
    while (await wb.activeRunId()) await new Promise((r) => setTimeout(r, 50));
    const run = await wb.getRun(runId);
    expect(run.state).toBe('finished');
    const e = run.preferenceEval!;
    expect(e.heldOut).toBe(5);
    // Before any update the LoRA policy is its reference (B = 0): DPO's loss is ln 2 and every reward 0.
    expect(e.before.loss).toBeCloseTo(Math.LN2, 5);
    expect(e.before.metrics['rewards/chosen']).toBeCloseTo(0, 5);
    expect(e.before.metrics['rewards/margins']).toBeCloseTo(0, 5);
    const after = e.after!;
    console.log(`held-out DPO (5 pairs, 10 steps): loss ${e.before.loss.toFixed(4)} -> ${after.loss.toFixed(4)},`
      + ` rewards/accuracies ${after.metrics['rewards/accuracies']}, margins ${after.metrics['rewards/margins']!.toFixed(4)}`);
    for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']) {
      expect(Number.isFinite(after.metrics[k]), k).toBe(true);
    }
    expect(after.loss).not.toBeCloseTo(Math.LN2, 3);

    // KTO: unpaired examples are held out the same way, scored with KTO's loss.
    const kto = WORDS.concat(WORDS).map((w, i) =>
      JSON.stringify({ prompt: `say ${w}`, completion: i % 2 ? ` ${WORDS[(i + 3) % 10]}` : ` ${w}`, label: i % 2 === 0 }));
    const ktoDs = await wb.importDataset('kto.jsonl', new TextEncoder().encode(kto.join('\n')), { validationFraction: 0.2, maxLength: 32 });
    expect(ktoDs.preference).toBe('unpaired');
    const ktoId = await wb.startRun({ datasetId: ktoDs.id, config: { ...config, steps: 2 }, preference: { method: 'kto' } }, () => undefined);
    while (await wb.activeRunId()) await new Promise((r) => setTimeout(r, 50));
    const k = (await wb.getRun(ktoId)).preferenceEval!;
    expect(k.heldOut).toBe(4);
    expect(Number.isFinite(k.before.loss) && Number.isFinite(k.after!.loss)).toBe(true);
    expect(k.before.metrics['rewards/chosen']).toBeCloseTo(0, 5);

    // Too few pairs to hold one out at this share: all train, nothing is evaluated.
    const few = await wb.importDataset('few.jsonl', pairs(3), { validationFraction: 0.1, maxLength: 32 });
    const fewId = await wb.startRun({ datasetId: few.id, config: { ...config, steps: 1 }, preference: { method: 'dpo' } }, () => undefined);
    while (await wb.activeRunId()) await new Promise((r) => setTimeout(r, 50));
    const fewRun = await wb.getRun(fewId);
    expect(fewRun.state).toBe('finished');
    expect(fewRun.preferenceEval).toBeUndefined();
  });
});
