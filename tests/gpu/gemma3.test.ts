import { describe, expect, it } from 'vitest';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { Generator } from '../../src/core/model/generate.ts';
import { StepPlan } from '../../src/core/model/step-plan.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { runStep } from '../../src/core/train/step.ts';
import { readTensor } from '../../src/core/gpu/tensor.ts';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import { SafetensorsFile } from '../../src/core/formats/safetensors.ts';
import { bytesSource } from '../../src/core/formats/bytes.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { gemma3Logits } from '../reference/gemma3-ref.ts';
import { meanNextTokenLoss } from '../reference/next-token-loss.ts';
import { loraMerged, readWeights, type Weights } from '../reference/weights-ref.ts';
import { randomArray, relError, testGpu } from './gpu-harness.ts';
import { writeRandomModel } from './random-model.ts';
import { randomLoraValues } from './random-lora.ts';
import { expectLoraCentralDifferences } from './central-differences.ts';
import type { Transformer } from '../../src/core/model/transformer.ts';
import { linearModules } from '../../src/core/formats/peft.ts';
import { estimateTrainingMemory } from '../../src/core/model/memory.ts';
import { Trainer } from '../../src/core/train/trainer.ts';
import { trainConfig } from '../../src/core/train/config.ts';

/**
 * A tiny Gemma 3 of odd sizes: hidden 40, head_dim 24 (2 heads on 1 KV head, so q is 48 wide),
 * 3 layers of which the middle one slides with a window of 3 (shorter than the sequences of 7),
 * local and global RoPE bases far apart, linear RoPE scaling on the global layers, a query scale
 * that is not head_dim^-0.5, and the embedding scale sqrt(40) rounded to bfloat16 (6.3125).
 */
const GEMMA3_ODD = {
  architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', hidden_size: 40, intermediate_size: 36, num_hidden_layers: 3,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 24, vocab_size: 97, max_position_embeddings: 32, rms_norm_eps: 1e-6,
  rope_theta: 1000, rope_local_base_freq: 10, rope_scaling: { rope_type: 'linear', factor: 2 }, query_pre_attn_scalar: 20,
  sliding_window: 3, layer_types: ['full_attention', 'sliding_attention', 'full_attention'], hidden_activation: 'gelu_pytorch_tanh',
  initializer_range: 0.2, attn_logit_softcapping: null, final_logit_softcapping: null, torch_dtype: 'bfloat16',
};

const meanLoss = (w: Weights, ids: number[], labels: number[], S: number) =>
  meanNextTokenLoss(gemma3Logits(GEMMA3_ODD, w, ids, S), labels, S, GEMMA3_ODD.vocab_size);

const [Bn, S] = [2, 7];
const V = GEMMA3_ODD.vocab_size;
const ids = Array.from(randomArray(Bn * S, 23), (x) => Math.floor(((x + 1) / 2) * V));
const labels = ids.map((id, i) => (i % S < 2 ? -100 : id));

async function logitsOf(model: Transformer, step: StepState): Promise<{ logits: Float32Array; loss: number }> {
  const gpu = model.gpu;
  const plan = await StepPlan.build(model, { batch: Bn, seq: S, train: false, keepLogits: true }, step);
  const { loss } = await runStep(gpu, plan, null, step, [{ ids, labels }], 0, 0).done;
  const logits = new Float32Array(Bn * S * V);
  for (const c of plan.logits) {
    const part = await readTensor(gpu, { ...c.logits, shape: [Bn * S * c.Vc] });
    for (let t = 0; t < Bn * S; t++) logits.set(part.subarray(t * c.Vc, (t + 1) * c.Vc), t * V + c.v0);
  }
  plan.destroy();
  return { logits, loss };
}

describe('Gemma 3 (hidden 40, head_dim 24, one sliding layer with a window of 3 < sequence 7)', () => {
  it('LoRA on every linear module: logits, loss, A/B gradients by finite differences, greedy decoding past the window, PEFT keys', async () => {
    const gpu = await testGpu();
    const dir = writeRandomModel(GEMMA3_ODD, 5);
    const model = await loadTransformer(gpu, nodeFileTree(dir));
    const cfg = model.cfg;
    expect(cfg.localAttention?.layers).toEqual([false, true, false]);
    const r = 3;
    model.lora = LoraAdapter.create(gpu, cfg, { r, alpha: 6, dropout: 0, targets: resolveTargets(cfg.arch, 'all-linear'), rslora: false }, 4);
    const mods = await randomLoraValues(gpu, model, r, 100);
    expect(mods.length).toBe(3 * 7);
    const base = await readWeights(dir);
    const s = model.lora.scaling;
    const step = new StepState(gpu);

    const w = loraMerged(base, mods, r, s);
    const { logits, loss } = await logitsOf(model, step);
    expect(relError(logits, gemma3Logits(GEMMA3_ODD, w, ids, S))).toBeLessThan(1e-4);
    const refLoss = meanLoss(w, ids, labels, S);
    expect(Math.abs(loss - refLoss)).toBeLessThan(1e-5 + 1e-4 * refLoss);

    model.setTrainable('lora');
    const plan = await StepPlan.build(model, { batch: Bn, seq: S, train: true }, step);
    await runStep(gpu, plan, null, step, [{ ids, labels }], 0, 0).done;
    const checked = await expectLoraCentralDifferences(gpu, model, mods, () => meanLoss(loraMerged(base, mods, r, s), ids, labels, S), 1e-3);
    expect(checked).toBe(3 * 7 * 2 * 2);
    plan.destroy();

    // Greedy decoding through the KV cache, 9 tokens past a 5-token prompt (well beyond the window of
    // 3), picks the reference forward's argmax at every step.
    const gen = new Generator(model);
    const prompt = ids.slice(0, 5);
    const out = await gen.generate(prompt, { maxNewTokens: 9, greedy: true, ignoreEos: true });
    const seq = [...prompt];
    for (let i = 0; i < 9; i++) {
      const ref = gemma3Logits(GEMMA3_ODD, w, seq, seq.length);
      const last = ref.subarray((seq.length - 1) * V, seq.length * V);
      seq.push(last.indexOf(Math.max(...last)));
    }
    expect(out.ids).toEqual(seq.slice(prompt.length));
    gen.destroy();

    // The adapter exports under the key names PEFT writes for Gemma3ForCausalLM.
    const files = await model.lora.save(gpu, null);
    const saved = await SafetensorsFile.open(bytesSource('adapter', files['adapter_model.safetensors']));
    const want = [0, 1, 2].flatMap((l) =>
      ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'].flatMap((id) =>
        ['A', 'B'].map((x) => `base_model.model.model.layers.${l}.${id}.lora_${x}.weight`)));
    expect(saved.names().sort()).toEqual(want.sort());
    expect(saved.info('base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight')!.shape).toEqual([48, r]);
    model.destroy();
  });

  it('full fine-tuning: gradients of every norm (four per block, q/k, final), the embedding and q_proj by finite differences; recomputation agrees', async () => {
    const gpu = await testGpu();
    const dir = writeRandomModel(GEMMA3_ODD, 9);
    const model = await loadTransformer(gpu, nodeFileTree(dir));
    const base = await readWeights(dir);
    const step = new StepState(gpu);
    model.setTrainable('full');
    const grads = async (checkpointing: boolean) => {
      model.setTrainable('full');
      const plan = await StepPlan.build(model, { batch: Bn, seq: S, train: true, checkpointing }, step);
      await runStep(gpu, plan, null, step, [{ ids, labels }], 0, 0).done;
      plan.destroy();
      return model.grads!;
    };
    const plain = await grads(false);
    // [tabtune parameter, Hugging Face tensor, elements to check]
    const checks: [string, string, number[]][] = [];
    for (const l of [0, 1, 2]) {
      checks.push(
        [`layers.${l}.ln1.weight`, `model.layers.${l}.input_layernorm.weight`, [0, 39]],
        [`layers.${l}.post_attn_norm.weight`, `model.layers.${l}.post_attention_layernorm.weight`, [1, 38]],
        [`layers.${l}.ln2.weight`, `model.layers.${l}.pre_feedforward_layernorm.weight`, [2, 37]],
        [`layers.${l}.post_mlp_norm.weight`, `model.layers.${l}.post_feedforward_layernorm.weight`, [3, 36]],
        [`layers.${l}.q_norm.weight`, `model.layers.${l}.self_attn.q_norm.weight`, [0, 23]],
        [`layers.${l}.k_norm.weight`, `model.layers.${l}.self_attn.k_norm.weight`, [5, 17]],
      );
    }
    checks.push(['norm.weight', 'model.norm.weight', [4, 35]]);
    checks.push(['layers.1.qkv.weight', 'model.layers.1.self_attn.q_proj.weight', [0, 48 * 40 - 1]]);
    // Embedding rows of a token that occurs (input and tied head) and of one that does not (head only).
    const unused = Array.from({ length: V }, (_, i) => i).find((i) => !ids.includes(i))!;
    checks.push(['embed.0', 'model.embed_tokens.weight', [ids[3]! * 40, ids[3]! * 40 + 39, unused * 40 + 7]]);
    const stored = new Map<string, Float32Array>();
    for (const [param, hf, elements] of checks) {
      const g = await readTensor(gpu, plain.get(param));
      stored.set(param, g);
      const values = base.get(hf)!;
      const maxAbs = g.reduce((acc, v) => Math.max(acc, Math.abs(v)), 0);
      for (const k of elements) {
        const saved = values[k]!;
        values[k] = saved + 1e-5;
        const up = meanLoss(base, ids, labels, S);
        values[k] = saved - 1e-5;
        const down = meanLoss(base, ids, labels, S);
        values[k] = saved;
        const fd = (up - down) / 2e-5;
        expect(Math.abs(g[k]! - fd), `${param}[${k}] gpu ${g[k]} fd ${fd}`).toBeLessThan(1e-3 * Math.max(maxAbs, 1e-6));
      }
    }
    // With recomputation the layer forwards (sliding-window bounds included) rerun inside the backward.
    const recomputed = await grads(true);
    for (const [param] of checks) expect(relError(await readTensor(gpu, recomputed.get(param)), stored.get(param)!)).toBeLessThan(1e-5);
    model.destroy();
  });
});

describe('Gemma 3 memory estimate', () => {
  it('matches the ledger peak of a LoRA run within 15% (head_dim 256, post-norms, q/k norms, sliding layers)', async () => {
    const gpu = await testGpu();
    const config = {
      ...GEMMA3_ODD, hidden_size: 128, intermediate_size: 320, num_hidden_layers: 4, head_dim: 256, vocab_size: 512,
      max_position_embeddings: 128, layer_types: undefined, sliding_window_pattern: 2, sliding_window: 16,
    };
    const dir = writeRandomModel(config, 3);
    gpu.pool.trim();
    const base = gpu.ledger.total;
    gpu.ledger.resetPeak();
    const model = await loadTransformer(gpu, nodeFileTree(dir));
    const targets = resolveTargets(model.cfg.arch, 'all-linear');
    model.lora = LoraAdapter.create(gpu, model.cfg, { r: 8, alpha: 16, dropout: 0.05, rslora: false, targets }, 1);
    const [batch, seq] = [2, 48];
    const cfgT = trainConfig({ method: 'lora', batch, steps: 1, lora: { r: 8, alpha: 16, dropout: 0.05 } });
    const row = { inputIds: new Array(seq).fill(5), labels: new Array(seq).fill(5) };
    const trainer = await Trainer.create({ model, config: cfgT, seq, train: [row, row], validation: [row] });
    await trainer.run();
    const measured = gpu.ledger.peak - base;
    const modules = linearModules(model.cfg.arch).filter((m) => targets.includes(m.id)).map((m) => m.features(model.cfg));
    const parts = estimateTrainingMemory(model.cfg, {
      method: 'lora', batch, seq, r: 8, loraModules: modules, loraDropout: 0.05, gradCheckpointing: false, validation: true,
    });
    const estimate = Object.values(parts).reduce((a, b) => a + b, 0);
    expect(Math.abs(estimate - measured) / measured, `estimate ${estimate} measured ${measured}`).toBeLessThan(0.15);
    trainer.destroy();
    model.destroy();
  });
});

describe('Gemma 3 with an f16 base', () => {
  it('logits within f16 rounding of the float64 reference (the norms and their (1 + w) stay f32)', async () => {
    const gpu = await testGpu();
    const dir = writeRandomModel(GEMMA3_ODD, 5);
    const model = await loadTransformer(gpu, nodeFileTree(dir), undefined, { precision: 'f16' });
    expect(model.weights.precision).toBe('f16');
    const { logits } = await logitsOf(model, new StepState(gpu));
    // The tolerance tests/gpu/mixed-precision.test.ts states for f16 bases.
    expect(relError(logits, gemma3Logits(GEMMA3_ODD, await readWeights(dir), ids, S))).toBeLessThan(3e-3);
    model.destroy();
  });
});
