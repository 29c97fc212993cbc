import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/model/config.ts';
import { placements } from '../../src/core/model/layout.ts';
import { modelLinearModules, targetedModules, targetedShapes } from '../../src/core/model/lora-targets.ts';
import { PRESETS } from '../../src/core/model/presets.ts';

const QWEN2_MOE = {
  architectures: ['Qwen2MoeForCausalLM'], model_type: 'qwen2_moe', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
  num_attention_heads: 4, vocab_size: 50, num_experts: 5, num_experts_per_tok: 3, moe_intermediate_size: 12, shared_expert_intermediate_size: 20,
};
const CONFIGS: Record<string, Record<string, unknown>> = { ...PRESETS, 'qwen2-moe (tiny)': QWEN2_MOE };

/** Routers are linear layers PEFT could adapt, but tabtune's LoRA covers projections only. */
const ROUTER = /\.(gate|shared_expert_gate)\.weight$/;

describe('one list of LoRA-able modules per model', () => {
  for (const [name, json] of Object.entries(CONFIGS)) {
    it(`${name}: every projection weight of a block is a module, with its shape`, () => {
      const cfg = parseConfig(json, name);
      const mods = modelLinearModules(cfg);
      const block = cfg.arch === 'gpt2' ? 'h.0.' : 'layers.0.';
      const weights = placements(cfg, [{ start: 0, rows: cfg.vocabSize }])
        .filter((p) => p.hf.startsWith(block) && p.hf.endsWith('.weight') && p.shape.length === 2 && !ROUTER.test(p.hf));
      expect(weights.length).toBeGreaterThan(0);
      const ids = weights.map((p) => p.hf.slice(block.length, -'.weight'.length));
      expect(new Set(ids)).toEqual(new Set(mods.map((m) => m.id)));
      for (const p of weights) {
        const m = mods.find((x) => `${block}${x.id}.weight` === p.hf)!;
        const f = m.features(cfg);
        expect(p.transpose ? [f.in, f.out] : [f.out, f.in]).toEqual(p.shape);
      }
      // 'all-linear' picks them all, so estimates and run files count the experts of MoE models too.
      expect(targetedModules(cfg, 'all-linear').map((m) => m.id)).toEqual(mods.map((m) => m.id));
    });
  }

  it('a target list picks by PEFT name or id, experts included', () => {
    const cfg = parseConfig(PRESETS['tinymixtral-4x248m']!, 'tinymixtral');
    const picked = targetedModules(cfg, ['q_proj', 'w2']).map((m) => m.id);
    expect(picked).toEqual(['self_attn.q_proj', ...[0, 1, 2, 3].map((e) => `block_sparse_moe.experts.${e}.w2`)]);
    const q = parseConfig(QWEN2_MOE, 'qwen2_moe');
    const shapes = targetedShapes(q, ['mlp.shared_expert.down_proj', 'mlp.experts.4.up_proj']);
    expect(shapes).toEqual([{ in: 32, out: 12 }, { in: 20, out: 32 }]);
  });
});
