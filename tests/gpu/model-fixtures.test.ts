import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadTransformer } from '../../src/core/model/load.ts';
import { StepPlan } from '../../src/core/model/step-plan.ts';
import { Slot, StepState } from '../../src/core/kernels/step-state.ts';
import { readTensor } from '../../src/core/gpu/tensor.ts';
import { SafetensorsFile } from '../../src/core/formats/safetensors.ts';
import { nodeFileSource, nodeFileTree } from '../../src/platform/node-files.ts';
import { relError, testGpu } from './gpu-harness.ts';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/hf/models/', import.meta.url));

interface Reference {
  input_ids: number[][];
  labels: number[][];
  loss: number;
}

for (const name of ['tiny-llama', 'tiny-gpt2']) {
  describe(`${name} against transformers`, () => {
    const dir = FIXTURES + name;
    const ref = JSON.parse(readFileSync(`${dir}/reference.json`, 'utf8')) as Reference;
    const B = ref.input_ids.length;
    const S = ref.input_ids[0]!.length;
    const batch = { ids: ref.input_ids.flat(), labels: ref.labels.flat() };

    it('logits and loss', async () => {
      const gpu = await testGpu();
      const model = await loadTransformer(gpu, nodeFileTree(dir));
      const step = new StepState(gpu);
      const plan = await StepPlan.build(model, { batch: B, seq: S, train: false, keepLogits: true }, step);
      const n = plan.upload(batch);
      step.begin({ lr: 0, biasCorrection1: 1, biasCorrection2: 1, lossScale: 1 / n, seed: 0 });
      gpu.run(plan.forward);
      const loss = (await readTensor(gpu, step.tensor))[Slot.lossSum]! / n;
      expect(Math.abs(loss - ref.loss)).toBeLessThan(1e-5 + 1e-4 * ref.loss);
      const refs = await SafetensorsFile.open(await nodeFileSource(`${dir}/reference.safetensors`));
      const want = await refs.readF32('logits');
      const V = model.cfg.vocabSize;
      const got = new Float32Array(B * S * V);
      for (const c of plan.logits) {
        const part = await readTensor(gpu, { ...c.logits, shape: [B * S * c.Vc] });
        for (let t = 0; t < B * S; t++) got.set(part.subarray(t * c.Vc, (t + 1) * c.Vc), t * V + c.v0);
      }
      expect(relError(got, want)).toBeLessThan(1e-4);
      plan.destroy();
      model.destroy();
    });
  });
}
