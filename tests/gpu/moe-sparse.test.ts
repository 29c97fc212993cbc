import { describe, expect, it } from 'vitest';
import { loadTransformer } from '../../src/core/model/load.ts';
import { parseConfig } from '../../src/core/model/config.ts';
import { StepPlan } from '../../src/core/model/step-plan.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { runStep } from '../../src/core/train/step.ts';
import { readTensor } from '../../src/core/gpu/tensor.ts';
import { SafetensorsModel } from '../../src/core/formats/safetensors.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { setExpertPath, type ExpertPath } from '../../src/core/model/moe-sparse.ts';
import type { Transformer } from '../../src/core/model/transformer.ts';
import { moeReference } from '../reference/moe-ref.ts';
import { randomArray, relError, testGpu } from './gpu-harness.ts';
import { writeRandomModel } from './random-model.ts';

// The sparse (gathered) expert path against the dense-masked one and the float64 reference: odd
// token counts, top-1 and top-2, an expert that no token chooses, full training and LoRA on experts.
const MIXTRAL_TOP1 = {
  architectures: ['MixtralForCausalLM'], model_type: 'mixtral', hidden_size: 20, intermediate_size: 12, num_hidden_layers: 2,
  num_attention_heads: 5, num_key_value_heads: 1, vocab_size: 37, max_position_embeddings: 32, rms_norm_eps: 1e-5,
  tie_word_embeddings: false, initializer_range: 0.25, num_local_experts: 4, num_experts_per_tok: 1, router_aux_loss_coef: 0.05,
};
const OLMOE_TOP2 = {
  architectures: ['OlmoeForCausalLM'], model_type: 'olmoe', hidden_size: 20, intermediate_size: 9, num_hidden_layers: 2,
  num_attention_heads: 5, num_key_value_heads: 1, vocab_size: 37, max_position_embeddings: 32, initializer_range: 0.25,
  num_experts: 6, num_experts_per_tok: 2, router_aux_loss_coef: 0.05,
};

interface Run {
  logits: Float32Array;
  loss: number;
  grads: Map<string, Float32Array>;
  counts: number[][];
}

/** One training step on a fresh copy of the model with the given expert path; everything read back. */
async function run(
  dir: string, path: ExpertPath, o: { B: number; S: number; ids: number[]; labels: number[]; lora: boolean; tie?: [number, number] },
): Promise<Run> {
  const gpu = await testGpu();
  const model: Transformer = await loadTransformer(gpu, nodeFileTree(dir));
  setExpertPath(model, path);
  const m = model.cfg.moe!;
  if (o.tie) {
    // Router row tie[1] := row tie[0] in every layer: equal logits go to the lower index, so expert tie[1] gets no tokens at top-1.
    for (let l = 0; l < model.cfg.layers; l++) {
      const w = model.w(`layers.${l}.router.weight`);
      const v = await readTensor(gpu, w);
      const H = model.cfg.hidden;
      v.copyWithin(o.tie[1] * H, o.tie[0] * H, (o.tie[0] + 1) * H);
      gpu.write(w.buffer, v, w.offset * 4);
    }
  }
  if (o.lora) {
    const targets = resolveTargets(model.cfg.arch, 'all-linear', { shape: model.cfg });
    model.lora = LoraAdapter.create(gpu, model.cfg, { r: 3, alpha: 6, dropout: 0, targets, rslora: false }, 9);
    model.lora.modules.forEach((mod, i) => {
      const t = model.lora!.store.get(mod.b);
      gpu.write(t.buffer, randomArray(mod.out * 3, 300 + i, 0.3), t.offset * 4);
    });
  }
  model.setTrainable(o.lora ? 'lora' : 'full');
  const step = new StepState(gpu);
  const batch = [{ ids: o.ids, labels: o.labels }];
  // Logits from an evaluation plan (a training plan turns them into their gradient in place).
  const evalPlan = await StepPlan.build(model, { batch: o.B, seq: o.S, train: false, keepLogits: true }, step);
  await runStep(gpu, evalPlan, null, step, batch, 0, 0).done;
  const T = o.B * o.S;
  const V = model.cfg.vocabSize;
  const logits = new Float32Array(T * V);
  for (const c of evalPlan.logits) {
    const part = await readTensor(gpu, { ...c.logits, shape: [T * c.Vc] });
    for (let t = 0; t < T; t++) logits.set(part.subarray(t * c.Vc, (t + 1) * c.Vc), t * V + c.v0);
  }
  evalPlan.destroy();
  const plan = await StepPlan.build(model, { batch: o.B, seq: o.S, train: true }, step);
  const { loss } = await runStep(gpu, plan, null, step, batch, 0, 0).done;
  const grads = new Map<string, Float32Array>();
  for (const name of model.grads!.names) grads.set(name, await readTensor(gpu, model.grads!.get(name)));
  // Tokens per expert in each layer, from the routing statistics of the step (moe_aux.wgsl).
  const stats = await readTensor(gpu, model.moeStats!);
  const E = m.experts;
  const counts = Array.from({ length: model.cfg.layers }, (_, l) => Array.from(stats.subarray(l * 2 * E, l * 2 * E + E)));
  plan.destroy();
  step.destroy();
  model.destroy();
  return { logits, loss, grads, counts };
}

async function compare(config: Record<string, unknown>, seed: number, B: number, S: number, lora: boolean, tie?: [number, number]) {
  const dir = writeRandomModel(config, seed);
  const V = config['vocab_size'] as number;
  const T = B * S;
  const ids = Array.from(randomArray(T, seed + 1), (x) => Math.floor(((x + 1) / 2) * V) % V);
  const labels = ids.map((id, i) => (i % S === 0 ? -100 : id));
  const sparse = await run(dir, 'sparse', { B, S, ids, labels, lora, tie });
  const dense = await run(dir, 'dense', { B, S, ids, labels, lora, tie });
  expect(sparse.counts).toEqual(dense.counts);
  for (const c of sparse.counts) expect(c.reduce((x, y) => x + y, 0)).toBe(T * (config['num_experts_per_tok'] as number));
  expect(relError(sparse.logits, Float64Array.from(dense.logits))).toBeLessThan(1e-5);
  expect(Math.abs(sparse.loss - dense.loss)).toBeLessThan(1e-5 * Math.abs(dense.loss));
  expect([...sparse.grads.keys()]).toEqual([...dense.grads.keys()]);
  let experts = 0;
  for (const [name, g] of sparse.grads) {
    const want = dense.grads.get(name)!;
    if (want.every((v) => v === 0)) {
      expect(g.every((v) => v === 0), `${name}: dense is 0, sparse is not`).toBe(true);
      continue;
    }
    if (/experts/.test(name)) experts++;
    expect(relError(g, Float64Array.from(want)), name).toBeLessThan(1e-4);
  }
  expect(experts).toBeGreaterThan(0);
  if (!tie) {
    // The sparse logits against the float64 reference (the router tie is written on the GPU only).
    const st = await SafetensorsModel.open(nodeFileTree(dir));
    const w = new Map<string, Float64Array>();
    for (const n of st.names()) w.set(n, Float64Array.from(await st.readF32(n)));
    const cfg = parseConfig(config);
    if (!lora) expect(relError(sparse.logits, moeReference(cfg, w, ids, S).logits)).toBeLessThan(1e-4);
  }
  return sparse;
}

describe('sparse (gathered) expert path against the dense-masked path', () => {
  it('Mixtral top-1, 11 tokens, an expert no token chooses: logits, loss and every full-training gradient', async () => {
    const r = await compare(MIXTRAL_TOP1, 21, 1, 11, false, [0, 3]);
    for (const c of r.counts) expect(c[3]).toBe(0);
  });

  it('Mixtral top-1, 3×5 tokens: the same, and the logits match the float64 reference', async () => {
    await compare(MIXTRAL_TOP1, 22, 3, 5, false);
  });

  it('OLMoE top-2 unnormalised, 3×5 tokens, LoRA on attention and every expert: logits and LoRA gradients', async () => {
    await compare(OLMOE_TOP2, 23, 3, 5, true);
  });

  it('OLMoE top-2, 13 tokens, full training: every gradient; logits against the float64 reference', async () => {
    await compare(OLMOE_TOP2, 24, 1, 13, false);
  });
});
