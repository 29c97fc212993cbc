import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readTensor } from '../../src/core/gpu/tensor.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { StepPlan } from '../../src/core/model/step-plan.ts';
import type { Transformer } from '../../src/core/model/transformer.ts';
import { runStep } from '../../src/core/train/step.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { relError, testGpu } from './gpu-harness.ts';

const DIR = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));
const ref = JSON.parse(readFileSync(`${DIR}/reference.json`, 'utf8')) as { input_ids: number[][]; labels: number[][]; loss: number; lora_loss: number };
const B = ref.input_ids.length;
const S = ref.input_ids[0]!.length;
const T = B * S;

/**
 * Loss and every trainable gradient after one forward+backward: `chunkRows` set runs the LM head
 * and cross-entropy in vocabulary chunks of that many rows with the logits recomputed in the
 * backward; unset keeps the whole [tokens, vocab] logits (the unfused path).
 */
async function lossAndGrads(mode: 'full' | 'lora', chunkRows?: number) {
  const gpu = await testGpu();
  const model: Transformer = await loadTransformer(gpu, nodeFileTree(DIR));
  if (mode === 'lora') model.lora = await LoraAdapter.load(gpu, model.cfg, nodeFileTree(`${DIR}/adapter`));
  model.setTrainable(mode);
  const step = new StepState(gpu);
  const opts = chunkRows ? { logitsChunkBytes: chunkRows * T * 4 } : { keepLogits: true };
  const plan = await StepPlan.build(model, { batch: B, seq: S, train: true, ...opts }, step);
  try {
    const { loss } = await runStep(gpu, plan, null, step, [{ ids: ref.input_ids.flat(), labels: ref.labels.flat() }], 0, 0).done;
    const grads = new Map<string, Float32Array>();
    if (mode === 'full') for (const [name, g] of await model.weights.readHf(model.grads!)) grads.set(name, g.data);
    else for (const m of model.lora!.modules) for (const id of [m.a, m.b]) grads.set(`${m.layer}.${m.id}.${id === m.a ? 'A' : 'B'}`, await readTensor(gpu, model.grads!.get(id)));
    return { loss, grads, kept: plan.logitsKept, chunks: plan.logits.length };
  } finally {
    plan.destroy();
    step.destroy();
    model.destroy();
  }
}

describe('LM head + cross-entropy in vocabulary chunks, logits recomputed in the backward', () => {
  for (const mode of ['full', 'lora'] as const) {
    it(`${mode}: loss and gradients match the path that keeps the whole logits`, async () => {
      const whole = await lossAndGrads(mode);
      // 100 rows of a 512-word vocabulary: five full chunks and a last one of 12 rows.
      const chunked = await lossAndGrads(mode, 100);
      expect(whole.kept).toBe(true);
      expect(chunked.kept).toBe(false);
      expect(chunked.chunks).toBe(6);
      const want = mode === 'full' ? ref.loss : ref.lora_loss;
      expect(Math.abs(whole.loss - want)).toBeLessThan(1e-4 * want);
      expect(Math.abs(chunked.loss - whole.loss)).toBeLessThan(1e-5 * whole.loss);
      expect([...chunked.grads.keys()].sort()).toEqual([...whole.grads.keys()].sort());
      // The LM head (tied to the embedding) and every layer's weights, which see the hidden-state gradient.
      if (mode === 'full') expect(whole.grads.has('model.embed_tokens.weight')).toBe(true);
      for (const [name, g] of whole.grads) expect(relError(chunked.grads.get(name)!, g), name).toBeLessThan(1e-5);
    });
  }
});
