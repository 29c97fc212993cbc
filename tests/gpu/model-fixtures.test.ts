import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { StepPlan } from '../../src/core/model/step-plan.ts';
import type { Transformer } from '../../src/core/model/transformer.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { readTensor } from '../../src/core/gpu/tensor.ts';
import { SafetensorsFile } from '../../src/core/formats/safetensors.ts';
import { AdamW } from '../../src/core/train/adamw.ts';
import { runStep } from '../../src/core/train/step.ts';
import { nodeFileSource, nodeFileTree } from '../../src/platform/node-files.ts';
import { Generator } from '../../src/core/model/generate.ts';
import { mergeLora } from '../../src/core/model/merge.ts';
import { relError, testGpu } from './gpu-harness.ts';
import type { Gpu } from '../../src/core/gpu/gpu.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/hf/models/', import.meta.url));

interface Reference {
  input_ids: number[][];
  labels: number[][];
  loss: number;
  lora_loss: number;
  greedy_base: number[];
  greedy_lora: number[];
  adamw: { lr: number; betas: [number, number]; eps: number; weight_decay: number; clip_grad_norm: number; losses_before_each_step: number[]; loss_after: number };
}

/** Logits [T, V] gathered from the plan's vocabulary chunks. */
async function readLogits(gpu: Gpu, plan: StepPlan, V: number): Promise<Float32Array> {
  const T = plan.T;
  const out = new Float32Array(T * V);
  for (const c of plan.logits) {
    const part = await readTensor(gpu, { ...c.logits, shape: [T * c.Vc] });
    for (let t = 0; t < T; t++) out.set(part.subarray(t * c.Vc, (t + 1) * c.Vc), t * V + c.v0);
  }
  return out;
}

const lossClose = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThan(1e-5 + 1e-4 * Math.abs(want));

for (const name of ['tiny-llama', 'tiny-gpt2']) {
  describe(`${name} against transformers + PEFT`, () => {
    const dir = FIXTURES + name;
    const ref = JSON.parse(readFileSync(`${dir}/reference.json`, 'utf8')) as Reference;
    const B = ref.input_ids.length;
    const S = ref.input_ids[0]!.length;
    const batch = { ids: ref.input_ids.flat(), labels: ref.labels.flat() };
    const refFile = async () => SafetensorsFile.open(await nodeFileSource(`${dir}/reference.safetensors`));

    /** Loss and logits; with `train` the backward runs too (and overwrites the logits with their gradient). */
    async function evaluate(model: Transformer, train: boolean) {
      const gpu = model.gpu;
      const step = new StepState(gpu);
      const plan = await StepPlan.build(model, { batch: B, seq: S, train, keepLogits: true }, step);
      const { done } = runStep(gpu, plan, null, step, [batch], 0, 0);
      const { loss } = await done;
      return { loss, logits: train ? new Float32Array(0) : await readLogits(gpu, plan, model.cfg.vocabSize), plan, step };
    }

    it('base logits and loss', async () => {
      const model = await loadTransformer(await testGpu(), nodeFileTree(dir));
      const { loss, logits, plan } = await evaluate(model, false);
      lossClose(loss, ref.loss);
      expect(relError(logits, await (await refFile()).readF32('logits'))).toBeLessThan(1e-4);
      plan.destroy();
      model.destroy();
    });

    it('every full-model gradient', async () => {
      const model = await loadTransformer(await testGpu(), nodeFileTree(dir));
      model.setTrainable('full');
      const { loss, plan } = await evaluate(model, true);
      lossClose(loss, ref.loss);
      const grads = await model.weights.readHf(model.grads!);
      const refs = await refFile();
      const names = refs.names().filter((n) => n.startsWith('grad.'));
      expect(names.length).toBe(grads.size);
      for (const n of names) {
        const got = grads.get(n.slice('grad.'.length));
        expect(got, n).toBeDefined();
        expect(relError(got!.data, await refs.readF32(n)), n).toBeLessThan(1e-3);
      }
      plan.destroy();
      model.destroy();
    });

    it('LoRA through the PEFT adapter: logits, loss, gradients', async () => {
      const gpu = await testGpu();
      const model = await loadTransformer(gpu, nodeFileTree(dir));
      model.lora = await LoraAdapter.load(gpu, model.cfg, nodeFileTree(`${dir}/adapter`));
      model.setTrainable('lora');
      const refs = await refFile();
      const forward = await evaluate(model, false);
      lossClose(forward.loss, ref.lora_loss);
      expect(relError(forward.logits, await refs.readF32('lora_logits'))).toBeLessThan(1e-4);
      forward.plan.destroy();
      const { loss, plan } = await evaluate(model, true);
      lossClose(loss, ref.lora_loss);
      const names = refs.names().filter((n) => n.startsWith('lora_grad.'));
      expect(names.length).toBe(model.lora.modules.length * 2);
      for (const m of model.lora.modules) {
        for (const which of ['A', 'B'] as const) {
          const key = names.find((n) => n.includes(`.${m.layer}.${m.id}.lora_${which}.`))!;
          expect(key, `${m.layer} ${m.id} ${which}`).toBeDefined();
          const t = model.grads!.get(which === 'A' ? m.a : m.b);
          expect(relError(await readTensor(gpu, t), await refs.readF32(key)), key).toBeLessThan(1e-3);
        }
      }
      plan.destroy();
      model.destroy();
    });

    it('three AdamW steps with clipping: losses and weights', async () => {
      const gpu = await testGpu();
      const model = await loadTransformer(gpu, nodeFileTree(dir));
      model.lora = await LoraAdapter.load(gpu, model.cfg, nodeFileTree(`${dir}/adapter`));
      model.setTrainable('lora');
      const a = ref.adamw;
      const step = new StepState(gpu);
      const plan = await StepPlan.build(model, { batch: B, seq: S, train: true }, step);
      const opt = await AdamW.create(gpu, model.lora.store, model.grads!, { beta1: a.betas[0], beta2: a.betas[1], eps: a.eps, weightDecay: a.weight_decay, maxNorm: a.clip_grad_norm }, step, true);
      for (let i = 0; i < 3; i++) {
        const { loss } = await runStep(gpu, plan, opt, step, [batch], a.lr, 0).done;
        lossClose(loss, a.losses_before_each_step[i]!);
      }
      const { loss } = await runStep(gpu, plan, null, step, [batch], 0, 0).done;
      lossClose(loss, a.loss_after);
      const refs = await refFile();
      for (const m of model.lora.modules) {
        for (const which of ['A', 'B'] as const) {
          const key = refs.names().find((n) => n.startsWith('after_adamw.') && n.includes(`.${m.layer}.${m.id}.lora_${which}.`))!;
          const got = await readTensor(gpu, model.lora.store.get(which === 'A' ? m.a : m.b));
          expect(relError(got, await refs.readF32(key)), key).toBeLessThan(1e-4);
        }
      }
      opt.destroy();
      plan.destroy();
      model.destroy();
    });

    it('exports the adapter with PEFT key names, shapes and values', async () => {
      const gpu = await testGpu();
      const model = await loadTransformer(gpu, nodeFileTree(dir));
      const adapter = await LoraAdapter.load(gpu, model.cfg, nodeFileTree(`${dir}/adapter`));
      const files = await adapter.save(gpu, null);
      const { bytesSource } = await import('../../src/core/formats/bytes.ts');
      const mine = await SafetensorsFile.open(bytesSource('exported', files['adapter_model.safetensors']));
      const peft = await SafetensorsFile.open(await nodeFileSource(`${dir}/adapter/adapter_model.safetensors`));
      expect(mine.names().sort()).toEqual(peft.names().sort());
      for (const n of peft.names()) {
        expect(mine.info(n)!.shape).toEqual(peft.info(n)!.shape);
        expect(Array.from(await mine.readF32(n))).toEqual(Array.from(await peft.readF32(n)));
      }
      const config = JSON.parse(new TextDecoder().decode(files['adapter_config.json']));
      const peftConfig = JSON.parse(readFileSync(`${dir}/adapter/adapter_config.json`, 'utf8'));
      expect(Object.keys(config).sort()).toEqual(Object.keys(peftConfig).sort());
      for (const k of ['r', 'lora_alpha', 'lora_dropout', 'fan_in_fan_out', 'peft_type', 'task_type', 'bias', 'use_rslora']) expect(config[k], k).toEqual(peftConfig[k]);
      expect([...config.target_modules].sort()).toEqual([...peftConfig.target_modules].sort());
      adapter.destroy();
      model.destroy();
    });

    it('greedy continuations with the KV cache, with and without the adapter', async () => {
      const gpu = await testGpu();
      const model = await loadTransformer(gpu, nodeFileTree(dir));
      model.lora = await LoraAdapter.load(gpu, model.cfg, nodeFileTree(`${dir}/adapter`));
      const gen = new Generator(model);
      const prompt = ref.input_ids[0]!.slice(0, 6);
      const base = await gen.generate(prompt, { maxNewTokens: 8, greedy: true, ignoreEos: true, useAdapter: false });
      expect(base.ids).toEqual(ref.greedy_base);
      const tuned = await gen.generate(prompt, { maxNewTokens: 8, greedy: true, ignoreEos: true });
      expect(tuned.ids).toEqual(ref.greedy_lora);
      expect(tuned.logprobs.every((l) => l <= 0 && Number.isFinite(l))).toBe(true);
      // Sampling repeats for a seed; top-k 1 is greedy.
      const a = await gen.generate(prompt, { maxNewTokens: 6, temperature: 0.8, topP: 0.9, seed: 3, ignoreEos: true });
      const b = await gen.generate(prompt, { maxNewTokens: 6, temperature: 0.8, topP: 0.9, seed: 3, ignoreEos: true });
      expect(a.ids).toEqual(b.ids);
      expect((await gen.generate(prompt, { maxNewTokens: 8, topK: 1, seed: 9, ignoreEos: true })).ids).toEqual(ref.greedy_lora);
      gen.destroy();
      model.destroy();
    });

    it('merging the adapter into the base gives the adapter logits', async () => {
      const gpu = await testGpu();
      const model = await loadTransformer(gpu, nodeFileTree(dir));
      model.lora = await LoraAdapter.load(gpu, model.cfg, nodeFileTree(`${dir}/adapter`));
      await mergeLora(model);
      expect(model.lora).toBeNull();
      const { logits, plan } = await evaluate(model, false);
      expect(relError(logits, await (await refFile()).readF32('lora_logits'))).toBeLessThan(1e-4);
      plan.destroy();
      model.destroy();
    });
  });
}
