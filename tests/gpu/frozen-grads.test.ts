import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stepMetrics } from '../../src/core/bench/step-metrics.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { loadTransformer } from '../../src/core/model/load.ts';
import { estimateTrainingMemory } from '../../src/core/model/memory.ts';
import { StepPlan } from '../../src/core/model/step-plan.ts';
import { trainConfig } from '../../src/core/train/config.ts';
import type { FreezeOptions } from '../../src/core/train/freeze.ts';
import { trainedWeights } from '../../src/core/train/param-groups.ts';
import { runStep } from '../../src/core/train/step.ts';
import { Trainer } from '../../src/core/train/trainer.ts';
import { trainedParameters } from '../../src/core/train/trained-count.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { testGpu } from './gpu-harness.ts';

const model = (name: string) => fileURLToPath(new URL(`../fixtures/hf/models/${name}`, import.meta.url));
const DIR = model('tiny-llama');
const GPT2 = model('tiny-gpt2');
type Reference = { input_ids: number[][]; labels: number[][] };
const reference = (dir: string) => JSON.parse(readFileSync(`${dir}/reference.json`, 'utf8')) as Reference;
const ref = reference(DIR);
const B = ref.input_ids.length;
const S = ref.input_ids[0]!.length;

/** One forward+backward with every weight trained, or with `freeze`: loss, each gradient by name, dispatches. */
async function oneStep(freeze?: FreezeOptions, dir = DIR) {
  const gpu = await testGpu();
  const model = await loadTransformer(gpu, nodeFileTree(dir));
  const ref = reference(dir);
  const [B, S] = [ref.input_ids.length, ref.input_ids[0]!.length];
  const config = trainConfig({ method: 'full', steps: 1, ...(freeze && { freeze }) });
  model.setTrainable('full', trainedWeights(config, model.cfg));
  const step = new StepState(gpu);
  const plan = await StepPlan.build(model, { batch: B, seq: S, train: true }, step);
  try {
    const { loss } = await runStep(gpu, plan, null, step, [{ ids: ref.input_ids.flat(), labels: ref.labels.flat() }], 0, 0).done;
    const grads = new Map<string, Float32Array>();
    for (const name of model.grads!.names) {
      const t = model.grads!.get(name);
      const n = t.shape.reduce((a, b) => a * b, 1);
      grads.set(name, await gpu.readF32(t.buffer, t.offset * 4, n));
    }
    const memory = trainedParameters(model.cfg, model.weights.store, config);
    return { cfg: model.cfg, loss, grads, dispatches: stepMetrics([plan.forward, plan.backward!]).dispatches, gradElements: model.grads!.count, memory };
  } finally {
    plan.destroy();
    step.destroy();
    model.destroy();
  }
}

describe('frozen weights compute no weight gradients', () => {
  const cases: [string, FreezeOptions, number, string?][] = [
    // Only the last layer and the final norm: no dW below, and no backward at all through layer 0.
    ['--train-last 1', { trainLast: 1 }, 1],
    // Layer 0 frozen, MLP and norms of layer 1: the attention's dW matmuls are skipped.
    ['--freeze-layers 0 --train-modules mlp,norm', { freezeLayers: [0], trainModules: ['mlp', 'norm'] }, 1],
    // Layer 1 frozen, everything else trains: dX flows through layer 1 into layer 0 and the embedding.
    ['--freeze-layers 1', { freezeLayers: [1] }, 0],
    // GPT-2: biases, LayerNorm biases, learned positions and a tied head.
    ['GPT-2 --train-last 1', { trainLast: 1 }, 1, GPT2],
    ['GPT-2 --freeze-layers 0 --train-modules attn,embed', { freezeLayers: [0], trainModules: ['attn', 'embed'] }, 1, GPT2],
  ];
  for (const [label, freeze, lowest, dir] of cases) {
    it(`${label}: the trained gradients are the ones a run training every weight computes; fewer dispatches and buffers`, async () => {
      const all = await oneStep(undefined, dir);
      const frozen = await oneStep(freeze, dir);
      expect(frozen.loss).toBe(all.loss);
      const trains = trainedWeights(trainConfig({ method: 'full', steps: 1, freeze }), frozen.cfg)!;
      const names = [...all.grads.keys()].filter(trains);
      expect([...frozen.grads.keys()].sort()).toEqual([...names].sort());
      expect(names.some((n) => n.startsWith(`layers.${lowest}.`))).toBe(true);
      for (const name of names) {
        const want = all.grads.get(name)!;
        expect(want.some((v) => v !== 0), `${name} has a gradient`).toBe(true);
        expect(Buffer.from(frozen.grads.get(name)!.buffer).equals(Buffer.from(want.buffer)), `${name} bit-identical`).toBe(true);
      }
      expect(frozen.dispatches).toBeLessThan(all.dispatches);
      expect(frozen.gradElements).toBeLessThan(all.gradElements);
      expect(frozen.gradElements).toBe(frozen.memory.trained);
    });
  }

  it('half fine-tuning: each round\'s plan records weight-gradient work for its half only', async () => {
    const gpu = await testGpu();
    const dispatches = async (halfFt?: { roundSteps: number }) => {
      const model = await loadTransformer(gpu, nodeFileTree(DIR));
      const config = trainConfig({ method: 'full', steps: 2, batch: B, lr: 1e-3, seed: 3, ...(halfFt && { halfFt }) });
      const rows = ref.input_ids.map((ids, i) => ({ inputIds: ids, labels: ref.labels[i]! }));
      const trainer = await Trainer.create({ model, config, seq: S, train: rows });
      const plan = () => (trainer as unknown as { plan: StepPlan }).plan;
      const first = stepMetrics([plan().forward, plan().backward!]).dispatches;
      expect((await trainer.run()).state).toBe('finished');
      const second = stepMetrics([plan().forward, plan().backward!]).dispatches;
      trainer.destroy();
      model.destroy();
      return [first, second];
    };
    const [every] = await dispatches();
    const [round0, round1] = await dispatches({ roundSteps: 1 });
    // Round 1 trains the complement: its plan was rebuilt, and both skip the other half's dW work.
    expect(round0).toBeLessThan(every!);
    expect(round1).toBeLessThan(every!);
  });

  it('the memory estimate counts gradients and Adam state for the trained weights only', async () => {
    const cfg = await loadCfg();
    const shape = { method: 'full', batch: 2, seq: 16, r: 0, loraModules: [], loraDropout: 0, gradCheckpointing: false, validation: false } as const;
    const every = estimateTrainingMemory(cfg, shape);
    const part = estimateTrainingMemory(cfg, { ...shape, trainedBytes: 1000 * 4 });
    expect(part.gradients).toBe(4000);
    expect(part.optimizer).toBe(8000);
    expect(part.weights).toBe(every.weights);
    expect(every.gradients).toBe(every.weights);
  });
});

async function loadCfg() {
  const model = await loadTransformer(await testGpu(), nodeFileTree(DIR));
  const cfg = model.cfg;
  model.destroy();
  return cfg;
}
