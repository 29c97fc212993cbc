import { describe, expect, it } from 'vitest';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { linearModules, resolveTargets } from '../../src/core/formats/peft.ts';
import { estimateTrainingMemory } from '../../src/core/model/memory.ts';
import { Trainer } from '../../src/core/train/trainer.ts';
import { trainConfig } from '../../src/core/train/config.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { testGpu } from './gpu-harness.ts';
import { writeRandomModel } from './random-model.ts';

// A small random Qwen2-MoE (shared expert, 6 experts top-2) trained through the Trainer.
const QWEN2_MOE_SMALL = {
  architectures: ['Qwen2MoeForCausalLM'], model_type: 'qwen2_moe', hidden_size: 48, intermediate_size: 96, num_hidden_layers: 3,
  num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 211, max_position_embeddings: 64, rms_norm_eps: 1e-6, rope_theta: 10000,
  tie_word_embeddings: false, hidden_act: 'silu', num_experts: 6, num_experts_per_tok: 2, norm_topk_prob: true,
  moe_intermediate_size: 40, shared_expert_intermediate_size: 72, router_aux_loss_coef: 0.01,
};

describe('training a mixture-of-experts model', () => {
  for (const [method, recompute] of [['lora', false], ['full', false], ['lora', true]] as const) {
    it(`${method}${recompute ? ' with activation recomputation' : ''}: the loss falls on a memorisable batch, and the memory estimate (experts counted) is within 15% of the ledger`, async () => {
      const gpu = await testGpu();
      gpu.pool.trim();
      const base = gpu.ledger.total;
      // Kernel parameters fill 64 KiB uniform chunks that plans never give back (gpu/uniforms.ts); not part of the estimate.
      const uniforms = () => gpu.ledger.byPurpose()['uniforms'] ?? 0;
      const uniformsBefore = uniforms();
      gpu.ledger.resetPeak();
      const model = await loadTransformer(gpu, nodeFileTree(writeRandomModel(QWEN2_MOE_SMALL, 2)));
      const seq = 24;
      const lora = { r: 8, alpha: 16, dropout: 0.05 };
      const targets = resolveTargets(model.cfg.arch, 'all-linear', { shape: model.cfg });
      if (method === 'lora') model.lora = LoraAdapter.create(gpu, model.cfg, { ...lora, rslora: false, targets }, 1);
      const config = trainConfig({ method, batch: 2, steps: 12, gradCheckpointing: recompute, lr: method === 'lora' ? 1e-2 : 3e-3, lora });
      const row = (k: number) => {
        const ids = Array.from({ length: seq }, (_, i) => (i * 7 + k * 31) % 211);
        return { inputIds: ids, labels: ids };
      };
      const trainer = await Trainer.create({ model, config, seq, train: [row(1), row(2)], validation: [row(3)] });
      const summary = await trainer.run();
      const steps = summary.history.filter((e) => e.type === 'step');
      const first = steps[0]!.loss;
      const last = steps.at(-1)!.loss;
      expect(Number.isFinite(last)).toBe(true);
      expect(last).toBeLessThan(first - 0.3);
      const measured = gpu.ledger.peak - base - (uniforms() - uniformsBefore);
      const modules = linearModules(model.cfg.arch, model.cfg).filter((m) => targets.includes(m.id)).map((m) => m.features(model.cfg));
      expect(modules.length).toBe(4 + 3 * 7);
      const parts = estimateTrainingMemory(model.cfg, {
        method, batch: 2, seq, r: lora.r, loraModules: modules, loraDropout: lora.dropout, gradCheckpointing: recompute, validation: true,
      });
      const estimate = Object.values(parts).reduce((a, b) => a + b, 0);
      console.log(`moe ${method}${recompute ? ' recompute' : ''}: loss ${first.toFixed(3)} → ${last.toFixed(3)}; estimate ${(estimate / 2 ** 20).toFixed(2)} MiB, measured ${(measured / 2 ** 20).toFixed(2)} MiB`);
      expect(Math.abs(estimate - measured) / measured).toBeLessThan(0.15);
      trainer.destroy();
      model.destroy();
    });
  }
});
