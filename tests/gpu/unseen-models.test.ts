import { describe, expect, it } from 'vitest';
import { loadTransformer } from '../../src/core/model/load.ts';
import { StepPlan } from '../../src/core/model/step-plan.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { runStep } from '../../src/core/train/step.ts';
import { readTensor } from '../../src/core/gpu/tensor.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { referenceLogits } from '../reference/transformer-ref.ts';
import { meanNextTokenLoss } from '../reference/next-token-loss.ts';
import { readWeights } from '../reference/weights-ref.ts';
import { randomArray, relError, testGpu } from './gpu-harness.ts';
import { expectCentralDifferences } from './central-differences.ts';
import { writeRandomModel } from './random-model.ts';
import type { ModelConfig } from '../../src/core/model/config.ts';

const CONFIGS: Record<string, Record<string, unknown>> = {
  'Qwen2 with q/k/v biases, an untied head, 5 heads on 1 KV head': {
    architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 40, intermediate_size: 72, num_hidden_layers: 2,
    num_attention_heads: 5, num_key_value_heads: 1, vocab_size: 203, max_position_embeddings: 64, rms_norm_eps: 1e-6,
    rope_theta: 1000000, tie_word_embeddings: false, hidden_act: 'silu', initializer_range: 0.2,
  },
  'Llama with llama3 rope scaling (rope_scaling form)': {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 64, intermediate_size: 100, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 131, max_position_embeddings: 64, rms_norm_eps: 1e-5,
    rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
    tie_word_embeddings: true, hidden_act: 'silu', initializer_range: 0.2, mlp_bias: true, attention_bias: true,
  },
  'Qwen3 with q/k norms, head_dim 12 (3 heads · 12 ≠ hidden 40), 1 KV head, an untied head': {
    architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 40, intermediate_size: 56, num_hidden_layers: 2,
    num_attention_heads: 3, num_key_value_heads: 1, head_dim: 12, vocab_size: 151, max_position_embeddings: 64, rms_norm_eps: 1e-6,
    rope_theta: 1000000, tie_word_embeddings: false, hidden_act: 'silu', initializer_range: 0.2, attention_bias: false,
  },
  'GPT-2 with odd sizes (d=36, 3 heads, vocab 97)': {
    architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', n_embd: 36, n_layer: 2, n_head: 3, n_positions: 32, n_inner: null,
    vocab_size: 97, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, initializer_range: 0.2,
  },
};

const referenceLoss = (cfg: ModelConfig, w: Map<string, Float64Array>, ids: number[], labels: number[], S: number) =>
  meanNextTokenLoss(referenceLogits(cfg, w, ids, S), labels, S, cfg.vocabSize);

describe('models no fixture covers, against a float64 reference', () => {
  for (const [name, config] of Object.entries(CONFIGS)) {
    it(`${name}: logits, loss, and gradients by finite differences`, async () => {
      const gpu = await testGpu();
      const dir = writeRandomModel(config, 5);
      const model = await loadTransformer(gpu, nodeFileTree(dir));
      const [B, S] = [2, 11];
      const V = model.cfg.vocabSize;
      const ids = Array.from(randomArray(B * S, 17), (x) => Math.floor(((x + 1) / 2) * V));
      const labels = ids.map((id, i) => (i % S < 3 ? -100 : id));
      const w = await readWeights(dir);

      const step = new StepState(gpu);
      const evalPlan = await StepPlan.build(model, { batch: B, seq: S, train: false, keepLogits: true }, step);
      const { loss } = await runStep(gpu, evalPlan, null, step, [{ ids, labels }], 0, 0).done;
      const got = new Float32Array(B * S * V);
      for (const c of evalPlan.logits) {
        const part = await readTensor(gpu, { ...c.logits, shape: [B * S * c.Vc] });
        for (let t = 0; t < B * S; t++) got.set(part.subarray(t * c.Vc, (t + 1) * c.Vc), t * V + c.v0);
      }
      expect(relError(got, referenceLogits(model.cfg, w, ids, S))).toBeLessThan(1e-4);
      const refLoss = referenceLoss(model.cfg, w, ids, labels, S);
      expect(Math.abs(loss - refLoss)).toBeLessThan(1e-5 + 1e-4 * refLoss);
      evalPlan.destroy();

      model.setTrainable('full');
      const plan = await StepPlan.build(model, { batch: B, seq: S, train: true }, step);
      await runStep(gpu, plan, null, step, [{ ids, labels }], 0, 0).done;
      const grads = await model.weights.readHf(model.grads!);
      // A few entries of every tensor: the float64 central difference of the reference loss.
      const checked = expectCentralDifferences(grads, w, () => referenceLoss(model.cfg, w, ids, labels, S), 1e-3);
      expect(checked).toBe(3 * w.size);
      plan.destroy();
      model.destroy();
    });
  }
});
