import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pickedFolder, testWorkbench } from './workbench-harness.ts';
import type { PreferenceSettings } from '../../src/core/workspace/api.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { encodeCompletion } from '../../src/core/data/preference.ts';
import { IGNORE } from '../../src/core/data/tokenize.ts';

const TINY = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));
const WORDS = ['sun', 'moon', 'star', 'sky', 'sea', 'tree'];
/** Chosen answers of different lengths, so the NLL's token mean is not a mean of per-pair means. */
const PAIRS = WORDS.map((w, i) => ({ prompt: `say ${w}`, chosen: ` ${w}`.repeat(1 + (i % 3)), rejected: ` ${WORDS[(i + 2) % WORDS.length]}` }));

describe('rpo_alpha (RPO) on a DPO run through the Worker API', () => {
  it('records rpo_alpha with the run, adds α × the chosen answers\' mean token NLL to the step-1 loss, and exports it to TRL', async () => {
    const wb = await testWorkbench();
    await wb.loadModel({ kind: 'local', name: 'tiny-llama' }, pickedFolder(TINY, 'tiny-llama'));
    const bytes = new TextEncoder().encode(PAIRS.map((p) => JSON.stringify(p)).join('\n'));
    const ds = await wb.importDataset('pairs.jsonl', bytes, { validationFraction: 0, maxLength: 32 });
    // One step over every pair: the step's batch is the whole dataset in both runs.
    const config = { method: 'lora' as const, steps: 1, batch: PAIRS.length, lr: 1e-2, schedule: 'constant' as const, warmup: 0, seed: 5, lora: { r: 4, alpha: 8 } };
    const firstStep = async (preference: PreferenceSettings) => {
      const runId = await wb.startRun({ datasetId: ds.id, config, preference }, () => undefined);
      while (await wb.activeRunId()) await new Promise((r) => setTimeout(r, 50));
      const run = await wb.getRun(runId);
      expect(run.state).toBe('finished');
      const step = run.events.find((e) => e.type === 'step');
      if (step?.type !== 'step') throw new Error('the run logged no step');
      return { run, step };
    };
    const plain = await firstStep({ method: 'dpo' });
    const alpha = 0.7;
    const rpo = await firstStep({ method: 'dpo', rpoAlpha: alpha });
    expect(plain.run.preference?.rpoAlpha).toBeNull();
    expect(rpo.run.preference).toMatchObject({ method: 'dpo', rpoAlpha: alpha });

    // TRL's NLL: cross-entropy over every chosen completion token of the batch (EOS included), its mean per token.
    const tok = await Tokenizer.fromTree(nodeFileTree(TINY));
    const chosenTokens = PAIRS.map((p) => {
      const enc = encodeCompletion(p.prompt, p.chosen, tok);
      if (!enc.ok) throw new Error(enc.reason);
      return enc.value.labels.filter((l) => l !== IGNORE).length;
    });
    expect(new Set(chosenTokens).size).toBeGreaterThan(1);
    // logps/chosen is the mean over pairs of each chosen answer's summed log-prob (DPO sums, as TRL).
    const logpsChosen = rpo.step.metrics!['logps/chosen']!;
    expect(logpsChosen).toBeCloseTo(plain.step.metrics!['logps/chosen']!, 5);
    const nll = (-logpsChosen * PAIRS.length) / chosenTokens.reduce((a, b) => a + b, 0);
    expect(nll).toBeGreaterThan(0.1);
    // Policy = reference before the first update (LoRA B = 0): DPO's term is ln 2 in both runs.
    expect(plain.step.loss).toBeCloseTo(Math.LN2, 5);
    console.log(`rpo: step-1 loss ${plain.step.loss} -> ${rpo.step.loss}, nll ${nll}, tokens ${chosenTokens}`);
    expect(rpo.step.loss - plain.step.loss).toBeCloseTo(alpha * nll, 4);
    expect(rpo.step.metrics!['nll_loss']).toBeCloseTo(nll, 4);
    expect(plain.step.metrics!['nll_loss']).toBeUndefined();

    const exported = async (runId: string) => {
      const f = (await wb.exportManifest(runId)).find((x) => x.name === 'trl_config.yaml');
      return new TextDecoder().decode(f!.bytes);
    };
    expect(await exported(rpo.run.id)).toContain(`rpo_alpha: ${alpha}`);
    expect(await exported(plain.run.id)).not.toContain('rpo_alpha');

    // The run checks what the app sends: rpo_alpha is DPO's, and a number ≥ 0.
    await expect(wb.startRun({ datasetId: ds.id, config, preference: { method: 'dpo', rpoAlpha: -1 } }, () => undefined))
      .rejects.toThrow(/rpo alpha must be a number ≥ 0, got -1/);
    await expect(wb.startRun({ datasetId: ds.id, config, preference: { method: 'simpo', rpoAlpha: 1 } }, () => undefined))
      .rejects.toThrow(/rpo alpha is a DPO option, not simpo/);
  });
});
