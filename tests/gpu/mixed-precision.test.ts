import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { StepPlan } from '../../src/core/model/step-plan.ts';
import type { Transformer } from '../../src/core/model/transformer.ts';
import { resolvePrecision } from '../../src/core/model/precision.ts';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import { SafetensorsFile } from '../../src/core/formats/safetensors.ts';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { parseDataset } from '../../src/core/data/import.ts';
import { tokenizeRecords } from '../../src/core/data/tokenize.ts';
import { packRows } from '../../src/core/data/rows.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { readTensor } from '../../src/core/gpu/tensor.ts';
import { runStep } from '../../src/core/train/step.ts';
import { Trainer } from '../../src/core/train/trainer.ts';
import { trainConfig } from '../../src/core/train/config.ts';
import { nodeFileSource, nodeFileTree } from '../../src/platform/node-files.ts';
import { relError, testGpu } from './gpu-harness.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/hf/models/', import.meta.url));
const HELD = fileURLToPath(new URL('../../public/datasets/factbook-qa-eval.jsonl', import.meta.url));

/**
 * Stated tolerances of an f16-held base against the float64 references: an f16 weight is within
 * 2^-11 (relative) of its f32 value and the matmuls accumulate in f32, so logits move by about
 * 1e-3 of their largest magnitude (measured below 1e-3 on both fixtures); the loss by under 0.5%.
 */
const LOGITS_TOL = 3e-3;
const LOSS_TOL = 5e-3;

async function forward(model: Transformer, ids: number[], labels: number[], B: number, S: number) {
  const gpu = model.gpu;
  const step = new StepState(gpu);
  const plan = await StepPlan.build(model, { batch: B, seq: S, train: false, keepLogits: true }, step);
  const { loss } = await runStep(gpu, plan, null, step, [{ ids, labels }], 0, 0).done;
  const V = model.cfg.vocabSize;
  const logits = new Float32Array(B * S * V);
  for (const c of plan.logits) {
    const part = await readTensor(gpu, { ...c.logits, shape: [B * S * c.Vc] });
    for (let t = 0; t < B * S; t++) logits.set(part.subarray(t * c.Vc, (t + 1) * c.Vc), t * V + c.v0);
  }
  plan.destroy();
  return { loss, logits };
}

const bytes = (m: Transformer) => m.weights.store.buffers.reduce((a, b) => a + b.size, 0);

describe('--precision f16: the base held as halves, f32 accumulation', () => {
  it('resolves auto by the adapter (lavapipe offers shader-f16)', async () => {
    const gpu = await testGpu();
    expect(gpu.features.has('shader-f16')).toBe(true);
    expect(resolvePrecision(gpu, 'auto')).toBe('f16');
    expect(resolvePrecision(gpu, 'f32')).toBe('f32');
  });

  for (const name of ['tiny-llama', 'tiny-gpt2']) {
    it(`${name}: base and LoRA logits and loss within the stated tolerance of transformers`, async () => {
      const gpu = await testGpu();
      const dir = FIXTURES + name;
      const ref = JSON.parse(readFileSync(`${dir}/reference.json`, 'utf8')) as { input_ids: number[][]; labels: number[][]; loss: number; lora_loss: number };
      const refs = await SafetensorsFile.open(await nodeFileSource(`${dir}/reference.safetensors`));
      const [B, S] = [ref.input_ids.length, ref.input_ids[0]!.length];
      const f32 = await loadTransformer(gpu, nodeFileTree(dir));
      const f32Bytes = bytes(f32);
      f32.destroy();
      const model = await loadTransformer(gpu, nodeFileTree(dir), undefined, { precision: 'f16' });
      expect(model.weights.precision).toBe('f16');
      expect(() => model.setTrainable('full')).toThrow(/f16/);
      const base = await forward(model, ref.input_ids.flat(), ref.labels.flat(), B, S);
      const logitsErr = relError(base.logits, await refs.readF32('logits'));
      expect(logitsErr).toBeLessThan(LOGITS_TOL);
      expect(Math.abs(base.loss - ref.loss) / ref.loss).toBeLessThan(LOSS_TOL);
      model.lora = await LoraAdapter.load(gpu, model.cfg, nodeFileTree(`${dir}/adapter`));
      const lora = await forward(model, ref.input_ids.flat(), ref.labels.flat(), B, S);
      expect(relError(lora.logits, await refs.readF32('lora_logits'))).toBeLessThan(LOGITS_TOL);
      expect(Math.abs(lora.loss - ref.lora_loss) / ref.lora_loss).toBeLessThan(LOSS_TOL);
      // Exports read the halves back: within f16 rounding of the checkpoint.
      const hf = await model.weights.readHf();
      const checkpoint = await SafetensorsFile.open(await nodeFileSource(`${dir}/model.safetensors`));
      const q = checkpoint.names().find((k) => /\.0\..*(q_proj|c_attn)\.weight$/.test(k))!;
      const held = hf.get(q) ?? [...hf.entries()].find(([k]) => q.endsWith(k))![1];
      expect(relError(held.data, await checkpoint.readF32(q))).toBeLessThan(1e-3);
      console.log(`${name} f16: logits ${logitsErr.toExponential(2)} of max, loss ${base.loss.toFixed(5)} vs ${ref.loss.toFixed(5)}; weights ${f32Bytes} → ${bytes(model)} bytes`);
      expect(bytes(model)).toBeLessThan(0.75 * f32Bytes);
      model.destroy();
    });
  }

  it('a 40-step LoRA run on tiny-llama: every loss within 1% of the f32 run', async () => {
    const gpu = await testGpu();
    const dir = FIXTURES + 'tiny-llama';
    const tok = await Tokenizer.fromTree(nodeFileTree(dir));
    const { records } = parseDataset('held', readFileSync(HELD));
    const examples = tokenizeRecords(records, tok, { maxLength: 48, maskPrompt: false }).examples.slice(0, 80);
    const rows = packRows(examples, 64, 0);
    const run = async (precision: 'f32' | 'f16') => {
      const model = await loadTransformer(gpu, nodeFileTree(dir), undefined, { precision });
      model.lora = LoraAdapter.create(gpu, model.cfg, { r: 8, alpha: 16, dropout: 0, rslora: false, targets: resolveTargets('llama', 'all-linear') }, 3);
      const config = trainConfig({ steps: 40, lr: 1e-2, batch: 2, schedule: 'constant', lora: { r: 8, alpha: 16, dropout: 0 } });
      const trainer = await Trainer.create({ model, config, seq: 64, train: rows });
      const s = await trainer.run();
      trainer.destroy();
      model.destroy();
      return s.history.filter((e) => e.type === 'step').map((e) => (e as { loss: number }).loss);
    };
    const ref = await run('f32');
    const half = await run('f16');
    expect(half.length).toBe(40);
    const worst = Math.max(...half.map((l, i) => Math.abs(l - ref[i]!) / ref[i]!));
    console.log(`40 LoRA steps: f32 ${ref[0]!.toFixed(4)} → ${ref[39]!.toFixed(4)}, f16 ${half[0]!.toFixed(4)} → ${half[39]!.toFixed(4)}; worst step ${(100 * worst).toFixed(3)}%`);
    expect(ref[39]!).toBeLessThan(0.8 * ref[0]!);
    expect(worst).toBeLessThan(0.01);
  });
});
