import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { RatedAnswer, RunEvent } from '../../src/core/workspace/api.ts';
import { readServeLog } from '../../src/cli/log-file.ts';
import { preferencePairs } from '../../src/core/serve/feedback-dataset.ts';
import type { FeedbackRecord } from '../../src/core/serve/monitor.ts';
import { pickedFolder, testWorkbench } from './workbench-harness.ts';

const TINY = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));

const chat = (content: string) => [{ role: 'user', content }];

describe('the feedback loop in the Worker API (workbench) on the tiny fixture model', () => {
  it('stores ratings, picks and edits as serve-log records, makes DPO and KTO datasets with lineage, and trains DPO, KTO, ORPO and SimPO on them', async () => {
    const wb = await testWorkbench();
    await wb.loadModel({ kind: 'local', name: 'tiny-llama' }, pickedFolder(TINY, 'tiny-llama'));
    // The answers the playground got (adapter null: the base model), rated, picked and edited.
    const answers: RatedAnswer[] = ['sun moon', 'moon moon', 'sky sea', 'sea sky', 'tree rock', 'bird'].map((completion, i) => ({
      id: `a${i}`, prompt: chat(`say ${['sun moon', 'sky sea', 'tree rock'][i >> 1]}`), completion, adapter: null,
    }));
    await wb.addFeedback({ action: 'rating', answer: answers[0]!, rating: 1 });
    await wb.addFeedback({ action: 'rating', answer: answers[1]!, rating: -1 });
    await wb.addFeedback({ action: 'pick', better: answers[2]!, worse: answers[3]! });
    await wb.addFeedback({ action: 'edit', answer: answers[5]!, preferred: 'tree rock' });
    await expect(wb.addFeedback({ action: 'pick', better: answers[0]!, worse: answers[2]! })).rejects.toThrow(/same prompt/);

    const log = await wb.listFeedback();
    expect(log.map((r) => r.action)).toEqual(['rating', 'rating', 'pick', 'edit']);
    // The serve log's record shape: what `tabtune data feedback --log` reads.
    expect(Object.keys(log[2]!).sort()).toEqual(
      ['action', 'adapter', 'completion', 'id', 'preferred', 'preferred_adapter', 'prompt', 'rating', 'time', 'type'],
    );
    expect(log[2]).toMatchObject({ type: 'feedback', id: 'a3', adapter: null, prompt: chat('say sky sea'), completion: 'sea sky', rating: null, preferred: 'sky sea' });
    expect(Number.isNaN(Date.parse(log[0]!.time))).toBe(false);
    const file = join(mkdtempSync(join(tmpdir(), 'tabtune-fb-')), 'feedback.jsonl');
    writeFileSync(file, (await wb.exportFeedback()).bytes);
    const read = readServeLog(file).filter((r): r is FeedbackRecord => r.type === 'feedback');
    const pairs = preferencePairs(read);
    expect(pairs).toHaveLength(3);

    const dpo = await wb.feedbackDataset({ runId: null, format: 'preference' });
    expect(dpo.preference).toBe('paired');
    expect(dpo.records).toBe(3);
    expect(dpo.feedback).toMatchObject({ runId: null, format: 'preference', ratings: 2, picks: 1, edits: 1 });
    const kto = await wb.feedbackDataset({ runId: null, format: 'kto' });
    expect(kto.preference).toBe('unpaired');
    expect(kto.records).toBe(6);
    await expect(wb.feedbackDataset({ runId: 'run-none', format: 'kto' })).rejects.toThrow(/no run run-none/);

    const events: RunEvent[] = [];
    const config = { steps: 3, lr: 1e-2, batch: 1, schedule: 'constant' as const, lora: { r: 4, alpha: 8, dropout: 0 } };
    const runId = await wb.startRun({ datasetId: dpo.id, config, preference: { method: 'dpo', beta: 0.1 } }, (e) => events.push(e));
    while (await wb.activeRunId()) await new Promise((r) => setTimeout(r, 50));
    const run = await wb.getRun(runId);
    expect(run.state, run.message).toBe('finished');
    expect(run.preference?.method).toBe('dpo');
    expect(run.name).toContain('DPO');
    const steps = events.filter((e) => e.type === 'step') as Extract<RunEvent, { type: 'step' }>[];
    expect(steps).toHaveLength(3);
    // LoRA B starts at 0: policy = reference, so the first step's loss is ln 2 and its rewards 0.
    expect(steps[0]!.loss).toBeCloseTo(Math.LN2, 5);
    for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins']) {
      for (const s of steps) expect(Number.isFinite(s.metrics?.[k])).toBe(true);
    }
    expect(steps[0]!.metrics!['rewards/margins']).toBeCloseTo(0, 6);

    // The exported TRL configuration names the matching trainer, so the run can continue on a cluster.
    const manifest = await wb.exportManifest(runId);
    const yaml = new TextDecoder().decode(manifest.find((f) => f.name === 'trl_config.yaml')!.bytes);
    const script = new TextDecoder().decode(manifest.find((f) => f.name === 'train_trl.py')!.bytes);
    expect(`${yaml}\n${script}`).toContain('DPOTrainer');

    // KTO needs unpaired data: a DPO dataset is refused with a clear message; the KTO dataset trains.
    await expect(wb.startRun({ datasetId: dpo.id, config, preference: { method: 'kto' } }, () => undefined)).rejects.toThrow(/KTO trains on/);
    const ktoEvents: RunEvent[] = [];
    const ktoRun = await wb.startRun({ datasetId: kto.id, config: { ...config, steps: 2 }, preference: { method: 'kto' } }, (e) => ktoEvents.push(e));
    while (await wb.activeRunId()) await new Promise((r) => setTimeout(r, 50));
    expect((await wb.getRun(ktoRun)).state).toBe('finished');
    const ktoSteps = ktoEvents.filter((e) => e.type === 'step') as Extract<RunEvent, { type: 'step' }>[];
    expect(ktoSteps).toHaveLength(2);
    expect(ktoSteps.every((e) => Number.isFinite(e.loss))).toBe(true);
    // ORPO and SimPO (no reference model) on the same pairs.
    for (const method of ['orpo', 'simpo'] as const) {
      const seen: RunEvent[] = [];
      const id = await wb.startRun({ datasetId: dpo.id, config: { ...config, steps: 1 }, preference: { method } }, (e) => seen.push(e));
      while (await wb.activeRunId()) await new Promise((r) => setTimeout(r, 50));
      expect((await wb.getRun(id)).preference?.method).toBe(method);
      const step = seen.find((e) => e.type === 'step') as Extract<RunEvent, { type: 'step' }>;
      expect(Number.isFinite(step.metrics?.['rewards/margins'])).toBe(true);
    }
  }, 120_000);
});
