import { describe, expect, it } from 'vitest';
import { loadTransformer } from '../../src/core/model/load.ts';
import { StepPlan } from '../../src/core/model/step-plan.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { runStep } from '../../src/core/train/step.ts';
import { readTensor } from '../../src/core/gpu/tensor.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import type { ModelConfig } from '../../src/core/model/config.ts';
import type { Transformer } from '../../src/core/model/transformer.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { Generator } from '../../src/core/model/generate.ts';
import { mergeLora } from '../../src/core/model/merge.ts';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import { SafetensorsFile } from '../../src/core/formats/safetensors.ts';
import { bytesSource, type FileTree } from '../../src/core/formats/bytes.ts';
import { moeReference } from '../reference/moe-ref.ts';
import { meanNextTokenLoss } from '../reference/next-token-loss.ts';
import { loraMerged, readWeights, type Weights } from '../reference/weights-ref.ts';
import { randomArray, relError, testGpu } from './gpu-harness.ts';
import { writeRandomModel } from './random-model.ts';
import { randomLoraValues } from './random-lora.ts';
import { setExpertPath, type ExpertPath } from '../../src/core/model/moe-sparse.ts';
import { padRows } from '../../src/core/data/rows.ts';
import { Trainer } from '../../src/core/train/trainer.ts';
import { trainConfig } from '../../src/core/train/config.ts';

// Odd sizes: 5 heads of 4 on 1 KV head, 4 experts top-2 (Mixtral), 5 experts top-2 + a shared expert (Qwen2-MoE).
const MIXTRAL_ODD = {
  architectures: ['MixtralForCausalLM'], model_type: 'mixtral', hidden_size: 20, intermediate_size: 12, num_hidden_layers: 2,
  num_attention_heads: 5, num_key_value_heads: 1, vocab_size: 37, max_position_embeddings: 32, rms_norm_eps: 1e-5, rope_theta: 10000,
  tie_word_embeddings: false, hidden_act: 'silu', initializer_range: 0.25, num_local_experts: 4, num_experts_per_tok: 2,
  router_aux_loss_coef: 0.05,
};
const QWEN2_MOE_ODD = {
  architectures: ['Qwen2MoeForCausalLM'], model_type: 'qwen2_moe', hidden_size: 20, intermediate_size: 30, num_hidden_layers: 2,
  num_attention_heads: 5, num_key_value_heads: 1, vocab_size: 37, max_position_embeddings: 32, rms_norm_eps: 1e-6, rope_theta: 10000,
  tie_word_embeddings: true, hidden_act: 'silu', initializer_range: 0.25, num_experts: 5, num_experts_per_tok: 2, norm_topk_prob: false,
  moe_intermediate_size: 10, shared_expert_intermediate_size: 14, router_aux_loss_coef: 0.05, decoder_sparse_step: 1,
};
// OLMoE: q_norm over the whole q (20 wide) and k_norm over the whole k (4 wide), 6 experts top-3 unnormalised.
const OLMOE_ODD = {
  architectures: ['OlmoeForCausalLM'], model_type: 'olmoe', hidden_size: 20, intermediate_size: 10, num_hidden_layers: 2,
  num_attention_heads: 5, num_key_value_heads: 1, vocab_size: 37, max_position_embeddings: 32, rope_theta: 10000,
  hidden_act: 'silu', initializer_range: 0.25, num_experts: 6, num_experts_per_tok: 3, router_aux_loss_coef: 0.05, clip_qkv: null,
};

async function readLogits(plan: StepPlan, T: number, V: number): Promise<Float32Array> {
  const got = new Float32Array(T * V);
  for (const c of plan.logits) {
    const part = await readTensor(plan.model.gpu, { ...c.logits, shape: [T * c.Vc] });
    for (let t = 0; t < T; t++) got.set(part.subarray(t * c.Vc, (t + 1) * c.Vc), t * V + c.v0);
  }
  return got;
}

/** HF tensor → (tabtune parameter, element offset) for the gradients checked by finite differences. */
function probes(cfg: ModelConfig): { hf: string; param: string; offset: number; count: number }[] {
  const m = cfg.moe!;
  const H = cfg.hidden;
  const I = m.expertInner;
  const mixtral = m.naming === 'mixtral';
  const block = mixtral ? 'block_sparse_moe' : 'mlp';
  const [g, u, dn] = mixtral ? ['w1', 'w3', 'w2'] : ['gate_proj', 'up_proj', 'down_proj'];
  const out = [
    { hf: `model.layers.0.${block}.gate.weight`, param: 'layers.0.router.weight', offset: 0, count: m.experts * H },
    { hf: `model.layers.1.${block}.gate.weight`, param: 'layers.1.router.weight', offset: 0, count: m.experts * H },
    { hf: `model.layers.0.${block}.experts.1.${g}.weight`, param: 'layers.0.experts.1.up.weight', offset: 0, count: I * H },
    { hf: `model.layers.1.${block}.experts.2.${u}.weight`, param: 'layers.1.experts.2.up.weight', offset: I * H, count: I * H },
    { hf: `model.layers.0.${block}.experts.3.${dn}.weight`, param: 'layers.0.experts.3.down.weight', offset: 0, count: H * I },
  ];
  if (cfg.qkNormWhole) {
    const qk = [{ hf: 'model.layers.1.self_attn.q_norm.weight', param: 'layers.1.q_norm.weight', offset: 0, count: cfg.heads * cfg.headDim }];
    out.push(...qk, { hf: 'model.layers.0.self_attn.k_norm.weight', param: 'layers.0.k_norm.weight', offset: 0, count: cfg.kvHeads * cfg.headDim });
  }
  if (m.sharedInner > 0) {
    out.push(
      { hf: 'model.layers.1.mlp.shared_expert_gate.weight', param: 'layers.1.router.weight', offset: m.experts * H, count: H },
      { hf: 'model.layers.0.mlp.shared_expert.down_proj.weight', param: 'layers.0.shared.down.weight', offset: 0, count: H * m.sharedInner },
    );
  }
  return out;
}

/** A padded batch: the real tokens of each row (the rest is padding, left out of the aux loss). */
interface Padding {
  readonly lengths: number[];
  readonly path: ExpertPath;
}

async function checkFamily(config: Record<string, unknown>, seed: number, padding?: Padding): Promise<void> {
  const gpu = await testGpu();
  const dir = writeRandomModel(config, seed);
  const model: Transformer = await loadTransformer(gpu, nodeFileTree(dir));
  if (padding) setExpertPath(model, padding.path);
  const cfg = model.cfg;
  const coef = cfg.moe!.auxCoef;
  const w = await readWeights(dir);

  const [B, S] = [2, 7];
  const V = cfg.vocabSize;
  const T = B * S;
  const mask = Array.from({ length: T }, (_, t) => (padding && t % S >= padding.lengths[Math.floor(t / S)]! ? 0 : 1));
  const ids = Array.from(randomArray(T, seed + 5), (x, t) => (mask[t] ? Math.floor(((x + 1) / 2) * V) % V : 0));
  const labels = ids.map((id, i) => (i % S < 2 || !mask[i] ? -100 : id));
  const lengths = padding?.lengths;
  const ref = moeReference(cfg, w, ids, S, mask);
  expect(ref.aux).toBeGreaterThan(1);
  const tol = (ce: number) => 1e-5 + 1e-4 * ce;
  if (padding) {
    // The padding changes the loss by several times the tolerance (the check below can fail).
    const unmasked = moeReference(cfg, w, ids, S).aux;
    expect(Math.abs(coef * (unmasked - ref.aux))).toBeGreaterThan(5 * tol(meanNextTokenLoss(ref.logits, labels, S, V)));
  }
  const step = new StepState(gpu);

  // Forward: logits and loss (an evaluation pass adds no aux loss).
  const evalPlan = await StepPlan.build(model, { batch: B, seq: S, train: false, keepLogits: true }, step);
  const { loss: evalLoss } = await runStep(gpu, evalPlan, null, step, [{ ids, labels, lengths }], 0, 0).done;
  expect(relError(await readLogits(evalPlan, T, V), ref.logits)).toBeLessThan(1e-4);
  const ce = meanNextTokenLoss(ref.logits, labels, S, V);
  expect(Math.abs(evalLoss - ce)).toBeLessThan(1e-5 + 1e-4 * ce);
  evalPlan.destroy();

  // Training: the loss includes router_aux_loss_coef · aux, and every gradient matches finite differences.
  model.setTrainable('full');
  const plan = await StepPlan.build(model, { batch: B, seq: S, train: true }, step);
  if (padding) {
    expect(() => plan.encode({ ids, labels, lengths: [S + 1, 1] })).toThrow(`row 0 has a real length of ${S + 1}, outside 0..${S}`);
    expect(() => plan.encode({ ids, labels, lengths: [S] })).toThrow('batch gives 1 row lengths for 2 rows');
  }
  const { loss } = await runStep(gpu, plan, null, step, [{ ids, labels, lengths }], 0, 0).done;
  const total = (x: Weights) => {
    const r = moeReference(cfg, x, ids, S, mask);
    return { loss: meanNextTokenLoss(r.logits, labels, S, V) + coef * r.aux, choices: r.choices };
  };
  expect(Math.abs(loss - (ce + coef * ref.aux))).toBeLessThan(1e-5 + 1e-4 * ce);
  expect(coef * ref.aux).toBeGreaterThan(20 * (1e-5 + 1e-4 * ce));
  let checked = 0;
  for (const pr of probes(cfg)) {
    const g = await readTensor(gpu, model.grads!.get(pr.param));
    const values = w.get(pr.hf)!;
    const grad = g.subarray(pr.offset, pr.offset + pr.count);
    const maxAbs = grad.reduce((acc, v) => Math.max(acc, Math.abs(v)), 0);
    expect(maxAbs, pr.hf).toBeGreaterThan(0);
    for (const k of [0, Math.min(7, pr.count - 2), pr.count - 1]) {
      const h = 1e-5;
      const saved = values[k]!;
      values[k] = saved + h;
      const up = total(w);
      values[k] = saved - h;
      const down = total(w);
      values[k] = saved;
      // Away from ties: the step must not change any token's experts.
      expect(up.choices, `${pr.hf}[${k}] changed the routing`).toBe(ref.choices);
      expect(down.choices).toBe(ref.choices);
      const fd = (up.loss - down.loss) / (2 * h);
      expect(Math.abs(grad[k]! - fd), `${pr.hf}[${k}] gpu ${grad[k]} fd ${fd}`).toBeLessThan(2e-3 * maxAbs);
      checked++;
    }
  }
  expect(checked).toBe(probes(cfg).length * 3);
  plan.destroy();
  step.destroy();
  model.destroy();
}

describe('mixture of experts (the default sparse expert path) against a float64 reference from the HF code', () => {
  it('Mixtral, 4 experts top-2 renormalised: logits, loss with the aux loss, router and expert gradients', async () => {
    await checkFamily(MIXTRAL_ODD, 3);
  });

  it('Qwen2-MoE, 5 experts top-2 unnormalised + a sigmoid-gated shared expert: the same checks', async () => {
    await checkFamily(QWEN2_MOE_ODD, 8);
  });

  it('OLMoE, 6 experts top-3 unnormalised, q/k norms over the whole projections: the same checks and the norm weights', async () => {
    await checkFamily(OLMOE_ODD, 4);
  });
});

describe('the aux loss leaves padding out (attention_mask in load_balancing_loss_func); prompt tokens stay in', () => {
  it('Mixtral, 2 rows of 7 and 4 real tokens, sparse experts: loss and router gradients against the masked reference', async () => {
    await checkFamily(MIXTRAL_ODD, 3, { lengths: [7, 4], path: 'sparse' });
  });

  it('Qwen2-MoE with a shared expert, rows of 3 and 7 real tokens, dense experts: the same checks', async () => {
    await checkFamily(QWEN2_MOE_ODD, 8, { lengths: [3, 7], path: 'dense' });
  });

  it('the trainer passes each padded row\'s real length: its first loss is the masked reference loss', async () => {
    const gpu = await testGpu();
    const dir = writeRandomModel(MIXTRAL_ODD, 11);
    const model = await loadTransformer(gpu, nodeFileTree(dir));
    const w = await readWeights(dir);
    const S = 8;
    const V = model.cfg.vocabSize;
    // Prompt tokens (label -100) stay in the aux loss; only the padding after each example leaves it.
    const examples = [
      { inputIds: [3, 9, 14, 22, 5, 30, 11], labels: [-100, -100, -100, 22, 5, 30, 11] },
      { inputIds: [8, 17, 26], labels: [-100, -100, 26] },
    ];
    const rows = padRows(examples, S, 0);
    expect(rows.map((r) => r.tokens)).toEqual([7, 3]);
    const ids = rows.flatMap((r) => r.inputIds);
    const labels = rows.flatMap((r) => r.labels);
    const mask = rows.flatMap((r) => r.inputIds.map((_, i) => (i < r.tokens! ? 1 : 0)));
    const ref = moeReference(model.cfg, w, ids, S, mask);
    const expected = meanNextTokenLoss(ref.logits, labels, S, V) + model.cfg.moe!.auxCoef * ref.aux;
    const unmasked = meanNextTokenLoss(ref.logits, labels, S, V) + model.cfg.moe!.auxCoef * moeReference(model.cfg, w, ids, S).aux;
    // The padding moves the loss by several times the tolerance (the check below can fail).
    expect(Math.abs(unmasked - expected)).toBeGreaterThan(5 * (1e-5 + 1e-4 * expected));
    const config = trainConfig({ method: 'full', batch: 2, steps: 1, lr: 1e-3 });
    const trainer = await Trainer.create({ model, config, seq: S, train: rows, validation: [] });
    const summary = await trainer.run();
    const first = summary.history.find((e) => e.type === 'step')!.loss;
    expect(Math.abs(first - expected), `trainer ${first}, reference ${expected}`).toBeLessThan(1e-5 + 1e-4 * expected);
    trainer.destroy();
    model.destroy();
  });
});

async function checkLora(config: Record<string, unknown>, seed: number, probed: string[]): Promise<void> {
  const gpu = await testGpu();
  const dir = writeRandomModel(config, seed);
  const model = await loadTransformer(gpu, nodeFileTree(dir));
  const cfg = model.cfg;
  const coef = cfg.moe!.auxCoef;
  const r = 2;
  const targets = resolveTargets(cfg.arch, 'all-linear', { shape: cfg });
  model.lora = LoraAdapter.create(gpu, cfg, { r, alpha: 5, dropout: 0, targets, rslora: false }, 4);
  const mods = await randomLoraValues(gpu, model, r, 200);
  const base = await readWeights(dir);
  const s = model.lora.scaling;
  const [B, S] = [2, 6];
  const V = cfg.vocabSize;
  const T = B * S;
  const ids = Array.from(randomArray(T, seed + 9), (x) => Math.floor(((x + 1) / 2) * V) % V);
  const labels = ids.map((id, i) => (i % S < 1 ? -100 : id));
  const ref = moeReference(cfg, loraMerged(base, mods, r, s), ids, S);
  const step = new StepState(gpu);

  const evalPlan = await StepPlan.build(model, { batch: B, seq: S, train: false, keepLogits: true }, step);
  await runStep(gpu, evalPlan, null, step, [{ ids, labels }], 0, 0).done;
  expect(relError(await readLogits(evalPlan, T, V), ref.logits)).toBeLessThan(1e-4);
  evalPlan.destroy();

  model.setTrainable('lora');
  const plan = await StepPlan.build(model, { batch: B, seq: S, train: true }, step);
  const { loss } = await runStep(gpu, plan, null, step, [{ ids, labels }], 0, 0).done;
  const total = () => {
    const x = moeReference(cfg, loraMerged(base, mods, r, s), ids, S);
    return { loss: meanNextTokenLoss(x.logits, labels, S, V) + coef * x.aux, choices: x.choices };
  };
  expect(Math.abs(loss - total().loss)).toBeLessThan(1e-5 + 1e-4 * loss);
  let checked = 0;
  for (const [j, m] of model.lora.modules.entries()) {
    if (!probed.includes(`${m.layer}.${m.id}`)) continue;
    for (const which of ['A', 'B'] as const) {
      const g = await readTensor(gpu, model.grads!.get(which === 'A' ? m.a : m.b));
      const values = which === 'A' ? mods[j]!.A : mods[j]!.B;
      const maxAbs = g.reduce((acc, v) => Math.max(acc, Math.abs(v)), 0);
      expect(maxAbs).toBeGreaterThan(0);
      for (const k of [0, values.length - 1]) {
        const h = 1e-5;
        const saved = values[k]!;
        values[k] = saved + h;
        const up = total();
        values[k] = saved - h;
        const down = total();
        values[k] = saved;
        expect(up.choices, `${m.id} ${which}[${k}] changed the routing`).toBe(ref.choices);
        expect(down.choices).toBe(ref.choices);
        const fd = (up.loss - down.loss) / (2 * h);
        expect(Math.abs(g[k]! - fd), `${m.layer} ${m.id} ${which}[${k}] gpu ${g[k]} fd ${fd}`).toBeLessThan(2e-3 * maxAbs);
        checked++;
      }
    }
  }
  expect(checked).toBe(probed.length * 4);
  plan.destroy();

  // Greedy decoding through the KV cache (one token at a time through the experts) picks the reference's argmax.
  const gen = new Generator(model);
  const prompt = ids.slice(0, 4);
  const out = await gen.generate(prompt, { maxNewTokens: 4, greedy: true, ignoreEos: true });
  const seqIds = [...prompt];
  for (let i = 0; i < 4; i++) {
    const logits = moeReference(cfg, loraMerged(base, mods, r, s), seqIds, seqIds.length).logits;
    const last = logits.subarray((seqIds.length - 1) * V, seqIds.length * V);
    seqIds.push(last.indexOf(Math.max(...last)));
  }
  expect(out.ids).toEqual(seqIds.slice(prompt.length));
  gen.destroy();

  // PEFT export: HF key names for attention and experts; the folder loads back with the same factors.
  const files = await model.lora.save(gpu, null);
  const saved = await SafetensorsFile.open(bytesSource('adapter', files['adapter_model.safetensors']));
  for (const id of probed) {
    const [layer, ...rest] = id.split('.');
    expect(saved.names()).toContain(`base_model.model.model.layers.${layer}.${rest.join('.')}.lora_A.weight`);
  }
  expect(saved.names().length).toBe(2 * model.lora.modules.length);
  const tree: FileTree = { name: 'adapter', open: async (n) => (n in files ? bytesSource(n, files[n as keyof typeof files]) : null) };
  const back = await LoraAdapter.load(gpu, cfg, tree);
  expect(back.modules.map((m) => m.id)).toEqual(model.lora.modules.map((m) => m.id));
  const m0 = back.modules.find((m) => `${m.layer}.${m.id}` === probed[1])!;
  expect(Array.from(await readTensor(gpu, back.store.get(m0.b)))).toEqual(Array.from(await readTensor(gpu, model.lora.store.get(m0.b))));
  back.destroy();

  // Merging writes W + s·B·A into the attention and expert weights: the same logits without the adapter.
  await mergeLora(model);
  const mergedPlan = await StepPlan.build(model, { batch: B, seq: S, train: false, keepLogits: true }, step);
  await runStep(gpu, mergedPlan, null, step, [{ ids, labels }], 0, 0).done;
  expect(relError(await readLogits(mergedPlan, T, V), ref.logits)).toBeLessThan(1e-4);
  mergedPlan.destroy();
  step.destroy();
  model.destroy();
}

describe('LoRA on a mixture of experts (attention and every expert, PEFT key names)', () => {
  it('Mixtral: logits, loss and A/B gradients of q_proj, experts.1.w1, experts.3.w2 against the reference; export and load', async () => {
    await checkLora(MIXTRAL_ODD, 5, ['0.self_attn.q_proj', '1.block_sparse_moe.experts.1.w1', '0.block_sparse_moe.experts.3.w2']);
  });

  it('Qwen2-MoE: the same through experts.2.up_proj and the shared expert', async () => {
    await checkLora(QWEN2_MOE_ODD, 6, ['1.self_attn.v_proj', '0.mlp.experts.2.up_proj', '1.mlp.shared_expert.down_proj']);
  });

  it('OLMoE: through k_proj (under the whole-k norm) and experts.5.gate_proj', async () => {
    await checkLora(OLMOE_ODD, 7, ['1.self_attn.k_proj', '0.mlp.experts.5.gate_proj', '1.mlp.experts.0.down_proj']);
  });
});
