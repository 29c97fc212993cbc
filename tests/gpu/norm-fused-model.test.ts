import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import { hasShaderF16 } from '../../src/core/gpu/features.ts';
import { readTensor, type Tensor } from '../../src/core/gpu/tensor.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { loadTransformer } from '../../src/core/model/load.ts';
import { Generator } from '../../src/core/model/generate.ts';
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

/** Llama with a hidden size that is no multiple of 4 (the scalar load paths), GQA, no biases. */
const LLAMA_ODD = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 30, intermediate_size: 46, num_hidden_layers: 2,
  num_attention_heads: 3, num_key_value_heads: 1, head_dim: 12, vocab_size: 101, max_position_embeddings: 64, rms_norm_eps: 1e-5,
  rope_theta: 10000, tie_word_embeddings: true, hidden_act: 'silu', initializer_range: 0.2,
};

/** The same family with widths that are multiples of 4 (the vec4 paths; f16, int8 and NF4 bases). */
const LLAMA_VEC4 = { ...LLAMA_ODD, hidden_size: 36, intermediate_size: 52, num_attention_heads: 3, head_dim: 12 };

interface Result {
  readonly loss: number;
  readonly grads: Map<string, Float32Array>;
  /** Elements one layer's activations ask for. */
  readonly layerElements: number;
}

/** One training step's loss and gradients, with ln1/ln2 read through by the matmuls or written as today. */
async function step(model: Transformer, normFuse: boolean, ids: number[], S: number): Promise<Result> {
  const gpu = model.gpu;
  gpu.tuning.normFuse = normFuse;
  model.setTrainable(model.lora ? 'lora' : 'full');
  const state = new StepState(gpu);
  let layerElements = 0;
  model.allocLayerActs(2 * S, (n): Tensor => {
    layerElements += n;
    return { buffer: gpu.placeholder, offset: 0, shape: [n] };
  });
  const plan = await StepPlan.build(model, { batch: 2, seq: S, train: true }, state);
  try {
    const { loss } = await runStep(gpu, plan, null, state, [{ ids, labels: ids }], 0, 7).done;
    const grads = new Map<string, Float32Array>();
    if (model.lora) {
      for (const n of model.lora.modules.flatMap((m) => [m.a, m.b])) grads.set(n, await readTensor(gpu, model.grads!.get(n)));
    } else {
      for (const [i, b] of model.grads!.buffers.entries()) grads.set(`gradient buffer ${i}`, await gpu.readF32(b, 0, b.size / 4));
    }
    return { loss, grads, layerElements };
  } finally {
    plan.destroy();
    state.destroy();
    model.setTrainable('none');
    delete gpu.tuning.normFuse;
  }
}

/** A LoRA adapter on every linear layer with random B (PEFT's zero B would hide dA). */
function adapter(model: Transformer): LoraAdapter {
  const targets = resolveTargets(model.cfg.arch, 'all-linear', { shape: model.cfg });
  const lora = LoraAdapter.create(model.gpu, model.cfg, { r: 3, alpha: 5, dropout: 0, rslora: false, targets }, 4);
  lora.modules.forEach((m, i) => {
    const t = lora.store.get(m.b);
    model.gpu.write(t.buffer, randomArray(m.out * 3, 100 + i, 0.3), t.offset * 4);
  });
  return lora;
}

interface Case {
  readonly label: string;
  readonly dir: () => string;
  readonly lora: boolean;
  readonly precision?: Precision;
  readonly quant?: 'int8' | 'int4';
  /** Also fuse LoRA and the activation into the same matmuls (the widest binding set). */
  readonly fuse?: boolean;
}

const CASES: Case[] = [
  { label: 'random Llama, hidden 30 (scalar loads), LoRA', dir: () => writeRandomModel(LLAMA_ODD, 3), lora: true },
  { label: 'random Llama, hidden 30, full fine-tuning', dir: () => writeRandomModel(LLAMA_ODD, 3), lora: false },
  { label: 'random Llama, hidden 36 (vec4 loads), f16 base, LoRA', dir: () => writeRandomModel(LLAMA_VEC4, 4), lora: true, precision: 'f16' },
  { label: 'random Llama, hidden 36, int8 base, LoRA', dir: () => writeRandomModel(LLAMA_VEC4, 4), lora: true, quant: 'int8' },
  { label: 'random Llama, hidden 36, NF4 base, LoRA', dir: () => writeRandomModel(LLAMA_VEC4, 4), lora: true, quant: 'int4' },
  { label: 'random Gemma 3 (1 + γ, post-norms), LoRA', dir: () => writeRandomModel(GEMMA3_TINY, 5), lora: true },
  { label: 'random Gemma 3, full fine-tuning', dir: () => writeRandomModel(GEMMA3_TINY, 5), lora: false },
  { label: 'tiny GPT-2 (LayerNorm: mean and β), LoRA, with the LoRA and GELU epilogues', dir: () => TINY_GPT2, lora: true, fuse: true },
  { label: 'tiny GPT-2, full fine-tuning', dir: () => TINY_GPT2, lora: false },
];

describe('ln1/ln2 read through by their matmuls give the materialised numbers without h1, h2', () => {
  for (const c of CASES) {
    it(c.label, async () => {
      const gpu = await testGpu();
      if (c.precision === 'f16') expect(hasShaderF16(gpu), 'this adapter offers shader-f16').toBe(true);
      const model = await loadTransformer(gpu, nodeFileTree(c.dir()), undefined, { precision: c.precision, quant: c.quant });
      if (c.fuse) gpu.tuning.fuse = true;
      try {
        if (c.lora) model.lora = adapter(model);
        const S = 11;
        const ids = Array.from({ length: 2 * S }, (_, i) => (i * 37 + 5) % model.cfg.vocabSize);
        const plain = await step(model, false, ids, S);
        const folded = await step(model, true, ids, S);
        expect(Math.abs(folded.loss - plain.loss) / Math.abs(plain.loss)).toBeLessThan(1e-5);
        for (const [name, want] of plain.grads) {
          expect(want.some((v) => v !== 0), `${name} has a gradient`).toBe(true);
          expect(relError(folded.grads.get(name)!, want), name).toBeLessThan(2e-5);
        }
        // Every layer's h1 and h2 ([T, H] each) are gone from its activations.
        expect(plain.layerElements - folded.layerElements).toBe(2 * (2 * S * model.d.H - 1));
      } finally {
        delete gpu.tuning.fuse;
        model.destroy();
      }
    });
  }

  it('KV-cached generation (the prompt, then one token at a time) gives the same tokens and log-probabilities', async () => {
    const gpu = await testGpu();
    const model = await loadTransformer(gpu, nodeFileTree(writeRandomModel(GEMMA3_TINY, 6)));
    try {
      model.lora = adapter(model);
      const run = async (normFuse: boolean) => {
        gpu.tuning.normFuse = normFuse;
        const gen = new Generator(model);
        try {
          return await gen.generate([3, 14, 15, 92, 6], { maxNewTokens: 6, greedy: true, ignoreEos: true });
        } finally {
          gen.destroy();
        }
      };
      const plain = await run(false);
      const folded = await run(true);
      expect(folded.ids).toEqual(plain.ids);
      expect(relError(folded.logprobs, plain.logprobs)).toBeLessThan(1e-4);
    } finally {
      delete gpu.tuning.normFuse;
      model.destroy();
    }
  });

  it('keeps h1 and h2 where a consumer reads them other than through a matmul (LoRA dropout)', async () => {
    const gpu = await testGpu();
    const model = await loadTransformer(gpu, nodeFileTree(writeRandomModel(LLAMA_ODD, 3)));
    try {
      gpu.tuning.normFuse = true;
      expect(model.normFuses()).toBe(true);
      const targets = resolveTargets(model.cfg.arch, 'all-linear', { shape: model.cfg });
      model.lora = LoraAdapter.create(gpu, model.cfg, { r: 3, alpha: 5, dropout: 0.1, rslora: false, targets }, 4);
      expect(model.normFuses()).toBe(false);
    } finally {
      delete gpu.tuning.normFuse;
      model.destroy();
    }
  });
});
