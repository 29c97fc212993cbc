import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { crossEntropyChunk, crossEntropyFinish, crossEntropyGrad, crossEntropyRef, IGNORE_TARGET } from '../../src/core/kernels/cross-entropy.ts';
import { scaleRows, scaleRowsRef } from '../../src/core/kernels/row-scale.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { allocTensor, readTensor, tensorOf } from '../../src/core/gpu/tensor.ts';
import { Program } from '../../src/core/gpu/program.ts';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import { SafetensorsModel } from '../../src/core/formats/safetensors.ts';
import { Trainer } from '../../src/core/train/trainer.ts';
import type { Row } from '../../src/core/data/rows.ts';
import { trainConfig } from '../../src/core/train/config.ts';
import type { TrainEvent } from '../../src/core/train/events.ts';
import { preferenceOptions, type PreferenceOptions } from '../../src/core/train/preference/method.ts';
import { preferenceObjective, stepLoss, type PreferenceRowInfo } from '../../src/core/train/preference/objective.ts';
import { forwardPlan, logpsOf, referenceLogps } from '../../src/core/train/preference/sequence-logps.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { Rng } from '../../src/core/rng.ts';
import { referenceLogits } from '../reference/transformer-ref.ts';
import { numericGrad, randomArray, relError, testGpu, upload } from './gpu-harness.ts';
import { expectCentralDifferences } from './central-differences.ts';
import { logitChunks } from './logit-chunks.ts';

const DIR = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));
const S = 12;

/** Pairs over a tiny "language": the chosen completion continues the prompt (t+1 follows t), the rejected one is noise. */
function pairRows(pairs: number, seed: number): Row[] {
  const rng = new Rng(seed);
  return Array.from({ length: pairs }, () => {
    const start = 10 + rng.int(200);
    const prompt = Array.from({ length: 5 }, (_, i) => start + i);
    const good = Array.from({ length: 4 + rng.int(3) }, (_, i) => start + 5 + i);
    const bad = Array.from({ length: 4 + rng.int(3) }, () => 10 + rng.int(400));
    const row = (completion: number[]): Row => {
      const ids = [...prompt, ...completion];
      const labels = ids.map((id, i) => (i < prompt.length ? -100 : id));
      while (ids.length < S) { ids.push(0); labels.push(-100); }
      return { inputIds: ids, labels };
    };
    return [row(good), row(bad)];
  }).flat();
}

function infosFor(rows: readonly Row[], refs: readonly number[]): PreferenceRowInfo[] {
  return rows.map((_, i) => ({ role: i % 2 === 0 ? 'chosen' : 'rejected', ref: refs[i]! }));
}

/** Float64: each row's Σ log p over its trained tokens, from reference logits. */
function refRowLogps(cfg: Parameters<typeof referenceLogits>[0], w: Map<string, Float64Array>, rows: readonly Row[]): number[] {
  const V = cfg.vocabSize;
  const ids = rows.flatMap((r) => r.inputIds);
  const logits = referenceLogits(cfg, w, ids, S);
  const targets = rows.flatMap((r) => r.labels.map((_, s) => (s + 1 < S && r.labels[s + 1]! >= 0 ? r.labels[s + 1]! : IGNORE_TARGET)));
  const ce = crossEntropyRef(logits, targets, V);
  return rows.map((_, b) => -ce.subarray(b * S, (b + 1) * S).reduce((a, v) => a + v, 0));
}

describe('row-scaled cross-entropy gradient (per-token weights)', () => {
  it('matches the float64 reference and finite differences of Σ w_t·CE_t over odd chunks', async () => {
    const gpu = await testGpu();
    const [T, V] = [7, 53];
    const chunkSizes = [20, 20, 13];
    const logits = randomArray(T * V, 5, 3);
    const targets = Uint32Array.from([5, 52, IGNORE_TARGET, 0, 21, 7, 40]);
    const w = Float32Array.from([0.5, -1.25, 3, 0, 2, -0.75, 1]);
    const step = new StepState(gpu);
    step.begin({ lr: 0, biasCorrection1: 1, biasCorrection2: 1, lossScale: 1, seed: 0 });
    const tgt = tensorOf(gpu.upload(targets, 'scratch', 't'), [T]);
    const stats = allocTensor(gpu, [T * 3], 'scratch', 'stats');
    const rowLoss = allocTensor(gpu, [T], 'scratch', 'rowLoss');
    const weights = upload(gpu, new Float32Array([9, 9, ...w]));
    const chunks = logitChunks(gpu, logits, T, V, chunkSizes);
    const p = new Program();
    for (const [i, c] of chunks.entries()) await crossEntropyChunk(gpu, p, T, c, tgt, stats, i === 0);
    await crossEntropyFinish(gpu, p, T, tgt, stats, rowLoss);
    for (const c of chunks) {
      await crossEntropyGrad(gpu, p, T, c, tgt, stats, step.tensor);
      await scaleRows(gpu, p, T, c, { ...weights, offset: 2 }); // weights at an offset
    }
    gpu.run(p);
    const grad = new Float64Array(T * V);
    for (const c of chunks) {
      const g = await readTensor(gpu, c.logits);
      for (let t = 0; t < T; t++) for (let j = 0; j < c.Vc; j++) grad[t * V + c.v0 + j] = g[t * c.Vc + j]!;
    }
    const weighted = (z: Float64Array) => crossEntropyRef(z, targets, V).reduce((a, l, t) => a + w[t]! * l, 0);
    expect(relError(grad, numericGrad(weighted, logits))).toBeLessThan(1e-4);
    expect(relError(scaleRowsRef([1, 2, 3, 4, 5, 6], [2, -1], 3), [2, 4, 6, -4, -5, -6])).toBe(0);
    step.destroy();
  });
});

describe('preference training on the tiny model', () => {
  it('sequence log-probs of the forward match the float64 reference model', async () => {
    const gpu = await testGpu();
    const model = await loadTransformer(gpu, nodeFileTree(DIR));
    const st = await SafetensorsModel.open(nodeFileTree(DIR));
    const w = new Map<string, Float64Array>();
    for (const n of st.names()) w.set(n, Float64Array.from(await st.readF32(n)));
    const rows = pairRows(3, 4).slice(0, 5); // an odd count: the last batch is short
    const { plan, state } = await forwardPlan(model, 2, S, false);
    const got = (await logpsOf(plan, rows)).map((r) => r.logp);
    expect(relError(got, refRowLogps(model.cfg, w, rows))).toBeLessThan(1e-5);
    plan.destroy(); state.destroy(); model.destroy();
  });

  for (const [name, o] of [
    ['dpo', preferenceOptions('dpo', { beta: 0.5, labelSmoothing: 0.1 })],
    ['ipo', preferenceOptions('dpo', { beta: 0.5, lossType: 'ipo' })],
    ['dpo + rpo_alpha', preferenceOptions('dpo', { beta: 0.5, rpoAlpha: 0.5 })],
    ['orpo', preferenceOptions('orpo', { beta: 0.5 })],
    ['simpo', preferenceOptions('simpo', { beta: 2, simpoGamma: 0.5 })],
    ['kto', preferenceOptions('kto', { beta: 0.5 })],
  ] as [string, PreferenceOptions][]) {
    it(`${name}: full fine-tuning gradients match finite differences of the float64 loss (2 micro-batches)`, async () => {
      const gpu = await testGpu();
      const model = await loadTransformer(gpu, nodeFileTree(DIR));
      const st = await SafetensorsModel.open(nodeFileTree(DIR));
      const w = new Map<string, Float64Array>();
      for (const n of st.names()) w.set(n, Float64Array.from(await st.readF32(n)));
      const rows = pairRows(2, 9);
      const refs = rows.map((_, i) => -20 + 3 * Math.sin(i));
      const infos: PreferenceRowInfo[] = o.method === 'kto'
        ? rows.map((_, i) => ({ role: i % 2 === 0 ? 'desirable' : 'undesirable', ref: refs[i]! }))
        : infosFor(rows, refs);
      const objective = preferenceObjective(o, infos);
      const batch = o.method === 'kto' ? 2 : 1; // two micro-batches either way: the forward is replayed
      const cfg = trainConfig({ method: 'full', lr: 0, steps: 1, batch, gradAccum: 2, shuffle: false, clip: 0, weightDecay: 0 });
      const events: TrainEvent[] = [];
      const trainer = await Trainer.create({ model, config: cfg, seq: S, train: rows, objective, onEvent: (e) => events.push(e) });
      await trainer.run();
      const stepEvent = events.find((e) => e.type === 'step') as Extract<TrainEvent, { type: 'step' }>;
      const lossOf = () => {
        const logps = refRowLogps(model.cfg, w, rows);
        return stepLoss(o, infos, logps.map((logp, i) => ({ logp, tokens: rows[i]!.labels.filter((l) => l >= 0).length }))).loss;
      };
      expect(Math.abs(stepEvent.loss - lossOf())).toBeLessThan(1e-5);
      const grads = await model.weights.readHf(model.grads!);
      const checked = expectCentralDifferences(grads, w, lossOf, 2e-3);
      expect(checked).toBe(3 * st.names().length);
      trainer.destroy(); model.destroy();
    });
  }

  it('LoRA-DPO starts at exactly ln 2 per pair with zero rewards (adapter off = reference), then learns the pairs', async () => {
    const gpu = await testGpu();
    const model = await loadTransformer(gpu, nodeFileTree(DIR));
    const cfg = trainConfig({ lr: 2e-2, steps: 12, batch: 4, seed: 3, warmup: 0, schedule: 'constant', lora: { r: 4, alpha: 8, dropout: 0 } });
    model.lora = LoraAdapter.create(gpu, model.cfg, { r: 4, alpha: 8, dropout: 0, rslora: false, targets: resolveTargets(model.cfg.arch, 'all-linear') }, 3);
    const rows = pairRows(8, 2);
    const refs = await referenceLogps(model, rows, 4, S);
    const o = preferenceOptions('dpo', { beta: 0.1 });
    // Every pair on its own: policy (adapter with B = 0) and reference give the same log-probs.
    const { plan, state } = await forwardPlan(model, 4, S, false);
    const policy = await logpsOf(plan, rows);
    plan.destroy(); state.destroy();
    for (let p = 0; p < rows.length / 2; p++) {
      const pair = stepLoss(o, infosFor(rows.slice(2 * p, 2 * p + 2), refs.slice(2 * p, 2 * p + 2)), policy.slice(2 * p, 2 * p + 2));
      expect(pair.loss).toBeCloseTo(0.693147, 6);
      expect(pair.metrics['rewards/chosen']).toBe(0);
      expect(pair.metrics['rewards/rejected']).toBe(0);
    }
    const events: TrainEvent[] = [];
    const trainer = await Trainer.create({ model, config: cfg, seq: S, train: rows, objective: preferenceObjective(o, infosFor(rows, refs)), onEvent: (e) => events.push(e) });
    const summary = await trainer.run();
    expect(summary.state).toBe('finished');
    const steps = events.filter((e) => e.type === 'step') as Extract<TrainEvent, { type: 'step' }>[];
    expect(steps).toHaveLength(12);
    expect(steps[0]!.loss).toBeCloseTo(Math.LN2, 6);
    expect(steps[0]!.metrics!['rewards/margins']).toBe(0);
    for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']) {
      expect(Number.isFinite(steps.at(-1)!.metrics![k]), k).toBe(true);
    }
    expect(steps.at(-1)!.loss).toBeLessThan(0.6);
    expect(steps.at(-1)!.metrics!['rewards/margins']).toBeGreaterThan(0);
    trainer.destroy(); model.destroy();
  });
});
