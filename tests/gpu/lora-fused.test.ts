import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import { hasShaderF16 } from '../../src/core/gpu/features.ts';
import { readTensor } from '../../src/core/gpu/tensor.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import type { Precision } from '../../src/core/model/precision.ts';
import { StepPlan } from '../../src/core/model/step-plan.ts';
import type { Transformer } from '../../src/core/model/transformer.ts';
import { runStep } from '../../src/core/train/step.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { randomArray, relError, testGpu } from './gpu-harness.ts';
import { writeRandomModel } from './random-model.ts';
import { GEMMA3_TINY } from './tiny-configs.ts';

const TINY_GPT2 = fileURLToPath(new URL('../fixtures/hf/models/tiny-gpt2', import.meta.url));

/** Odd shapes: 5 query heads on 1 KV head, q/k/v biases, an untied head; every width a multiple of 4 (f16). */
const QWEN2_ODD = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 40, intermediate_size: 52, num_hidden_layers: 2,
  num_attention_heads: 5, num_key_value_heads: 1, vocab_size: 203, max_position_embeddings: 64, rms_norm_eps: 1e-6,
  rope_theta: 1000000, tie_word_embeddings: false, hidden_act: 'silu', initializer_range: 0.2,
};

/** Qwen2-MoE: attention sites fuse, the experts (and shared expert) keep their own LoRA path. 41 words: the ids below repeat no word. */
const QWEN2_MOE_TINY = {
  architectures: ['Qwen2MoeForCausalLM'], model_type: 'qwen2_moe', hidden_size: 20, intermediate_size: 30, num_hidden_layers: 2,
  num_attention_heads: 5, num_key_value_heads: 1, vocab_size: 41, max_position_embeddings: 32, rms_norm_eps: 1e-6, rope_theta: 10000,
  tie_word_embeddings: true, hidden_act: 'silu', initializer_range: 0.25, num_experts: 5, num_experts_per_tok: 2, norm_topk_prob: false,
  moe_intermediate_size: 10, shared_expert_intermediate_size: 14, router_aux_loss_coef: 0.05, decoder_sparse_step: 1,
};

interface Result {
  readonly loss: number;
  readonly grads: Map<string, Float32Array>;
  readonly dispatches: number;
}

/** One training step's loss, gradients and recorded dispatches, with the fused kernels on or off. */
async function step(model: Transformer, fuse: boolean, ids: number[], S: number): Promise<Result> {
  const gpu = model.gpu;
  gpu.tuning.fuse = fuse;
  model.setTrainable(model.lora ? 'lora' : 'full');
  const state = new StepState(gpu);
  const plan = await StepPlan.build(model, { batch: 2, seq: S, train: true }, state);
  try {
    const { loss } = await runStep(gpu, plan, null, state, [{ ids, labels: ids }], 0, 7).done;
    const grads = new Map<string, Float32Array>();
    if (model.lora) {
      for (const n of model.lora.modules.flatMap((m) => [m.a, m.b])) grads.set(n, await readTensor(gpu, model.grads!.get(n)));
    } else {
      // Full fine-tuning: whole gradient buffers (one read each; every weight of the model is in them).
      for (const [i, b] of model.grads!.buffers.entries()) grads.set(`gradient buffer ${i}`, await gpu.readF32(b, 0, b.size / 4));
    }
    return { loss, grads, dispatches: plan.forward.dispatchCount + plan.backward!.dispatchCount };
  } finally {
    plan.destroy();
    state.destroy();
    model.setTrainable('none');
    delete gpu.tuning.fuse;
  }
}

/** A LoRA adapter on every linear layer with random B (PEFT's zero B would hide the forward term). */
function adapter(model: Transformer, dropout: number): LoraAdapter {
  const targets = resolveTargets(model.cfg.arch, 'all-linear', { shape: model.cfg });
  const lora = LoraAdapter.create(model.gpu, model.cfg, { r: 3, alpha: 5, dropout, rslora: false, targets }, 4);
  lora.modules.forEach((m, i) => {
    const t = lora.store.get(m.b);
    model.gpu.write(t.buffer, randomArray(m.out * 3, 100 + i, 0.3), t.offset * 4);
  });
  return lora;
}

/** dropout null: full fine-tuning, no adapter. */
const CASES: [string, () => string, Precision, number | null][] = [
  ['random Qwen2 (GQA, biases, SwiGLU), f32', () => writeRandomModel(QWEN2_ODD, 9), 'f32', 0],
  ['random Qwen2, f32, LoRA dropout 0.2 (forward fused, input gradient unfused)', () => writeRandomModel(QWEN2_ODD, 9), 'f32', 0.2],
  ['random Qwen2, f16 base weights', () => writeRandomModel(QWEN2_ODD, 9), 'f16', 0],
  ['random Qwen2, full fine-tuning (the SwiGLU backward epilogue alone)', () => writeRandomModel(QWEN2_ODD, 9), 'f32', null],
  ['tiny GPT-2 (one c_attn module, GELU epilogues), f32', () => TINY_GPT2, 'f32', 0],
  ['tiny GPT-2, full fine-tuning', () => TINY_GPT2, 'f32', null],
  ['random Gemma 3 (post-norms, the GeGLU backward epilogue), f32', () => writeRandomModel(GEMMA3_TINY, 5), 'f32', 0],
  ['random Gemma 3, full fine-tuning', () => writeRandomModel(GEMMA3_TINY, 5), 'f32', null],
  ['random Qwen2-MoE (LoRA on attention and experts), f32', () => writeRandomModel(QWEN2_MOE_TINY, 3), 'f32', 0],
  ['random Qwen2-MoE, full fine-tuning', () => writeRandomModel(QWEN2_MOE_TINY, 3), 'f32', null],
];

const DENSE_SITES: readonly string[] = ['qkv', 'o', 'up', 'down'];

describe('LoRA and the MLP activation fused into the matmuls give the unfused numbers with fewer dispatches', () => {
  for (const [label, dirOf, precision, dropout] of CASES) {
    it(label, async () => {
      const gpu = await testGpu();
      if (precision === 'f16') expect(hasShaderF16(gpu), 'this adapter offers shader-f16').toBe(true);
      const model = await loadTransformer(gpu, nodeFileTree(dirOf()), undefined, { precision });
      try {
        if (dropout !== null) model.lora = adapter(model, dropout);
        const S = 11;
        const ids = Array.from({ length: 2 * S }, (_, i) => (i * 37 + 5) % model.cfg.vocabSize);
        const plain = await step(model, false, ids, S);
        const fused = await step(model, true, ids, S);
        expect(Math.abs(fused.loss - plain.loss) / Math.abs(plain.loss)).toBeLessThan(1e-5);
        for (const [name, want] of plain.grads) {
          expect(want.some((v) => v !== 0), `${name} has a gradient`).toBe(true);
          expect(relError(fused.grads.get(name)!, want), name).toBeLessThan(2e-5);
        }
        // Gone: each dense module's t·Bᵀ matmul (forward) and dt·A matmul (backward, unless dropout sits on the input
        // gradient); per dense layer, the activation's backward kernel (same condition) and, ungated, its forward kernel.
        // MoE experts keep their own path.
        const modules = model.lora?.modules.filter((m) => DENSE_SITES.includes(m.site)).length ?? 0;
        const layers = model.cfg.moe ? 0 : model.cfg.layers;
        const dropped = (dropout ?? 0) > 0;
        const saved = modules + (dropped ? 0 : modules + layers) + (model.d.gated ? 0 : layers);
        expect(plain.dispatches - fused.dispatches).toBe(saved);
      } finally {
        model.destroy();
      }
    });
  }
});
