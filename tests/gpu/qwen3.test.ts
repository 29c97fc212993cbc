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
import { referenceLogits } from '../reference/transformer-ref.ts';
import { meanNextTokenLoss } from '../reference/next-token-loss.ts';
import { loraMerged, readWeights, type Weights } from '../reference/weights-ref.ts';
import { randomArray, relError, testGpu } from './gpu-harness.ts';
import { writeRandomModel } from './random-model.ts';
import { randomLoraValues } from './random-lora.ts';
import { expectLoraCentralDifferences } from './central-differences.ts';
import type { ModelConfig } from '../../src/core/model/config.ts';

const QWEN3_ODD = {
  architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 28, intermediate_size: 44, num_hidden_layers: 2,
  num_attention_heads: 3, num_key_value_heads: 1, head_dim: 12, vocab_size: 89, max_position_embeddings: 32, rms_norm_eps: 1e-6,
  rope_theta: 10000, tie_word_embeddings: true, hidden_act: 'silu', initializer_range: 0.2, attention_bias: true,
};

const meanLoss = (cfg: ModelConfig, w: Weights, ids: number[], labels: number[], S: number) =>
  meanNextTokenLoss(referenceLogits(cfg, w, ids, S), labels, S, cfg.vocabSize);

describe('Qwen3 (odd shapes: head_dim 12, 3 heads on 1 KV head, hidden 28, q/k/v/o biases)', () => {
  it('LoRA on every linear module: logits, loss, A/B gradients by finite differences, greedy decoding, PEFT keys', async () => {
    const gpu = await testGpu();
    const dir = writeRandomModel(QWEN3_ODD, 11);
    const model = await loadTransformer(gpu, nodeFileTree(dir));
    const cfg = model.cfg;
    const r = 3;
    const settings = { r, alpha: 6, dropout: 0, targets: resolveTargets('qwen3', 'all-linear'), rslora: false };
    model.lora = LoraAdapter.create(gpu, cfg, settings, 4);
    const mods = await randomLoraValues(gpu, model, r, 100);
    expect(mods.length).toBe(2 * 7);
    const base = await readWeights(dir);
    const s = model.lora.scaling;

    const [Bn, S] = [2, 7];
    const V = cfg.vocabSize;
    const ids = Array.from(randomArray(Bn * S, 23), (x) => Math.floor(((x + 1) / 2) * V));
    const labels = ids.map((id, i) => (i % S < 2 ? -100 : id));
    const step = new StepState(gpu);
    const evalPlan = await StepPlan.build(model, { batch: Bn, seq: S, train: false, keepLogits: true }, step);
    const { loss } = await runStep(gpu, evalPlan, null, step, [{ ids, labels }], 0, 0).done;
    const got = new Float32Array(Bn * S * V);
    for (const c of evalPlan.logits) {
      const part = await readTensor(gpu, { ...c.logits, shape: [Bn * S * c.Vc] });
      for (let t = 0; t < Bn * S; t++) got.set(part.subarray(t * c.Vc, (t + 1) * c.Vc), t * V + c.v0);
    }
    const w = loraMerged(base, mods, r, s);
    expect(relError(got, referenceLogits(cfg, w, ids, S))).toBeLessThan(1e-4);
    const refLoss = meanLoss(cfg, w, ids, labels, S);
    expect(Math.abs(loss - refLoss)).toBeLessThan(1e-5 + 1e-4 * refLoss);
    evalPlan.destroy();

    model.setTrainable('lora');
    const plan = await StepPlan.build(model, { batch: Bn, seq: S, train: true }, step);
    await runStep(gpu, plan, null, step, [{ ids, labels }], 0, 0).done;
    const checked = await expectLoraCentralDifferences(gpu, model, mods, () => meanLoss(cfg, loraMerged(base, mods, r, s), ids, labels, S), 1e-3);
    expect(checked).toBe(2 * 7 * 2 * 2);
    plan.destroy();

    // Greedy decoding through the KV cache picks the reference forward's argmax at every step.
    const gen = new Generator(model);
    const prompt = ids.slice(0, 5);
    const out = await gen.generate(prompt, { maxNewTokens: 6, greedy: true, ignoreEos: true });
    const seq = [...prompt];
    for (let i = 0; i < 6; i++) {
      const logits = referenceLogits(cfg, w, seq, seq.length);
      const last = logits.subarray((seq.length - 1) * V, seq.length * V);
      seq.push(last.indexOf(Math.max(...last)));
    }
    expect(out.ids).toEqual(seq.slice(prompt.length));
    gen.destroy();

    // The adapter exports under the key names PEFT writes for Qwen3ForCausalLM.
    const files = await model.lora.save(gpu, null);
    const saved = await SafetensorsFile.open(bytesSource('adapter', files['adapter_model.safetensors']));
    const want = [0, 1].flatMap((l) =>
      ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'].flatMap((id) =>
        ['A', 'B'].map((x) => `base_model.model.model.layers.${l}.${id}.lora_${x}.weight`)));
    expect(saved.names().sort()).toEqual(want.sort());
    expect(saved.info('base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight')!.shape).toEqual([36, r]);
    const config = JSON.parse(new TextDecoder().decode(files['adapter_config.json']));
    expect(config.fan_in_fan_out).toBe(false);
    model.destroy();
  });
});
