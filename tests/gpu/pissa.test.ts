import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { memoryTree } from '../../src/core/formats/bytes.ts';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import { SafetensorsFile } from '../../src/core/formats/safetensors.ts';
import { readTensor } from '../../src/core/gpu/tensor.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { initPissa, restorePissaBase } from '../../src/core/model/pissa.ts';
import { StepPlan } from '../../src/core/model/step-plan.ts';
import type { Transformer } from '../../src/core/model/transformer.ts';
import type { Row } from '../../src/core/data/rows.ts';
import { trainConfig } from '../../src/core/train/config.ts';
import { runStep } from '../../src/core/train/step.ts';
import { Trainer } from '../../src/core/train/trainer.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { Rng } from '../../src/core/rng.ts';
import { randomArray, relError, testGpu } from './gpu-harness.ts';

const DIR = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));
const S = 12;

async function logits(model: Transformer): Promise<Float32Array> {
  const gpu = model.gpu;
  const V = model.cfg.vocabSize;
  const ids = Array.from(randomArray(2 * S, 17), (x) => Math.floor(((x + 1) / 2) * V));
  const step = new StepState(gpu);
  const plan = await StepPlan.build(model, { batch: 2, seq: S, train: false, keepLogits: true }, step);
  await runStep(gpu, plan, null, step, [{ ids, labels: ids }], 0, 0).done;
  const out = new Float32Array(2 * S * V);
  for (const c of plan.logits) {
    const part = await readTensor(gpu, { ...c.logits, shape: [2 * S * c.Vc] });
    for (let t = 0; t < 2 * S; t++) out.set(part.subarray(t * c.Vc, (t + 1) * c.Vc), t * V + c.v0);
  }
  plan.destroy();
  step.destroy();
  return out;
}

function rows(n: number): Row[] {
  const rng = new Rng(3);
  return Array.from({ length: n }, () => {
    const start = 10 + rng.int(200);
    const ids = Array.from({ length: S }, (_, i) => start + i);
    return { inputIds: ids, labels: ids };
  });
}

describe('PiSSA', () => {
  for (const init of ['pissa', 'pissa_niter_4'] as const) {
    it(`${init}: the init leaves the model unchanged; the export is a rank-2r LoRA that gives the trained logits on the original base`, async () => {
      const gpu = await testGpu();
      const model = await loadTransformer(gpu, nodeFileTree(DIR));
      const base = await logits(model);
      const settings = { r: 4, alpha: 8, dropout: 0, rslora: false, targets: resolveTargets(model.cfg.arch, 'all-linear') };
      const lora = LoraAdapter.create(gpu, model.cfg, settings, 1);
      model.lora = lora;
      await initPissa(model, init, 1);
      // B is no longer zero: the principal part moved from the base into the adapter.
      const b0 = await readTensor(gpu, lora.store.get(lora.modules[0]!.b));
      expect(b0.some((v) => v !== 0)).toBe(true);
      expect(relError(await logits(model), base)).toBeLessThan(1e-4);
      await expect(initPissa(model, init, 1)).rejects.toThrow(/already PiSSA-initialised/);

      const config = trainConfig({ steps: 4, batch: 2, lr: 2e-2, schedule: 'constant', seed: 5, lora: { ...settings, dropout: 0 } });
      const trainer = await Trainer.create({ model, config, seq: S, train: rows(8) });
      const summary = await trainer.run();
      expect(summary.state).toBe('finished');
      trainer.destroy();
      const trained = await logits(model);
      expect(relError(trained, base)).toBeGreaterThan(1e-3);

      const files = await lora.save(gpu, null);
      const cfg = JSON.parse(new TextDecoder().decode(files['adapter_config.json'])) as Record<string, unknown>;
      expect(cfg).toMatchObject({ r: 8, lora_alpha: 16, init_lora_weights: true });
      const st = await SafetensorsFile.open((await memoryTree('a', files).open('adapter_model.safetensors'))!);
      expect(st.info('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')?.shape).toEqual([8, model.cfg.hidden]);
      const original = await loadTransformer(gpu, nodeFileTree(DIR));
      original.lora = await LoraAdapter.load(gpu, original.cfg, memoryTree('adapter', files));
      expect(relError(await logits(original), trained)).toBeLessThan(1e-4);
      original.destroy();

      // Detaching the adapter gives the original base back.
      await restorePissaBase(model, lora);
      model.setTrainable('none');
      model.lora = null;
      lora.destroy();
      expect(relError(await logits(model), base)).toBeLessThan(1e-5);
      model.destroy();
    });
  }
});
