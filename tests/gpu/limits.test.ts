import { describe, expect, it, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { acquireNodeGpu } from '../../src/platform/node-gpu.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { loadTransformer } from '../../src/core/model/load.ts';
import { StepPlan } from '../../src/core/model/step-plan.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { runStep } from '../../src/core/train/step.ts';
import { LimitError } from '../../src/core/errors.ts';
import { matmul } from '../../src/core/kernels/matmul.ts';
import { Program } from '../../src/core/gpu/program.ts';
import { allocTensor } from '../../src/core/gpu/tensor.ts';
import { SafetensorsFile } from '../../src/core/formats/safetensors.ts';
import { nodeFileSource } from '../../src/platform/node-files.ts';
import { relError } from './gpu-harness.ts';
import type { Gpu } from '../../src/core/gpu/gpu.ts';

const DIR = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));

describe('adapter limits', () => {
  // 96 KiB bindings: the 512x64 embedding splits in two and the logits in vocabulary chunks.
  let gpu: Gpu;
  afterAll(() => gpu?.destroy());

  it('a small maxStorageBufferBindingSize splits tables and logits, and the numbers stay exact', async () => {
    gpu = await acquireNodeGpu({ limits: { maxStorageBufferBindingSize: 96 * 1024 } });
    const model = await loadTransformer(gpu, nodeFileTree(DIR));
    expect(model.weights.chunks.length).toBe(2);
    model.setTrainable('full');
    const ref = JSON.parse(readFileSync(`${DIR}/reference.json`, 'utf8'));
    const step = new StepState(gpu);
    const plan = await StepPlan.build(model, { batch: 2, seq: 24, train: true }, step);
    const { loss } = await runStep(gpu, plan, null, step, [{ ids: ref.input_ids.flat(), labels: ref.labels.flat() }], 0, 0).done;
    expect(Math.abs(loss - ref.loss)).toBeLessThan(1e-4 * ref.loss);
    const grads = await model.weights.readHf(model.grads!);
    const refs = await SafetensorsFile.open(await nodeFileSource(`${DIR}/reference.safetensors`));
    expect(relError(grads.get('model.embed_tokens.weight')!.data, await refs.readF32('grad.model.embed_tokens.weight'))).toBeLessThan(1e-3);
    plan.destroy();
    model.destroy();
  });

  it('a buffer or grid beyond a limit is a LimitError naming the limit', async () => {
    expect(() => gpu.createBuffer(200 * 1024, 'scratch', 'too big')).toThrow(LimitError);
    expect(() => gpu.createBuffer(200 * 1024, 'scratch', 'too big')).toThrow(/maxStorageBufferBindingSize/);
    const a = allocTensor(gpu, [4], 'scratch', 'a');
    await expect(matmul(gpu, new Program(), { a, b: a, c: a, M: 4, N: 4, K: 1, batch: 70000 })).rejects.toThrow(/maxComputeWorkgroupsPerDimension/);
  });
});
