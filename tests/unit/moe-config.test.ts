import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/model/config.ts';
import { linearModules, loraKey, parseLoraKey, resolveTargets, targetModulesList } from '../../src/core/formats/peft.ts';
import { estimateTrainingMemory } from '../../src/core/model/memory.ts';
import { PRESETS } from '../../src/core/model/presets.ts';
import { paramSpecs } from '../../src/core/model/layout.ts';
import { expectInputError } from './expect-input-error.ts';

const MIXTRAL = {
  architectures: ['MixtralForCausalLM'], model_type: 'mixtral', hidden_size: 32, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 50, num_local_experts: 4, num_experts_per_tok: 2,
};
const QWEN2_MOE = {
  architectures: ['Qwen2MoeForCausalLM'], model_type: 'qwen2_moe', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
  num_attention_heads: 4, vocab_size: 50, num_experts: 5, num_experts_per_tok: 3, moe_intermediate_size: 12, shared_expert_intermediate_size: 20,
};

const OLMOE = {
  architectures: ['OlmoeForCausalLM'], model_type: 'olmoe', hidden_size: 32, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 50,
};

describe('mixture-of-experts configs', () => {
  it('reads each family with its transformers defaults', () => {
    const m = parseConfig(MIXTRAL).moe!;
    expect(m).toMatchObject({ experts: 4, topK: 2, normTopK: true, expertInner: 24, sharedInner: 0, auxCoef: 0.001, naming: 'mixtral' });
    const q = parseConfig(QWEN2_MOE);
    expect(q.moe).toMatchObject({ experts: 5, topK: 3, normTopK: false, expertInner: 12, sharedInner: 20, auxCoef: 0.001, naming: 'qwen2_moe' });
    expect(q.attentionBias).toBe(true);
    expect(parseConfig({ ...QWEN2_MOE, norm_topk_prob: true, router_aux_loss_coef: 0.02 }).moe).toMatchObject({ normTopK: true, auxCoef: 0.02 });
    // OlmoeConfig: 64 experts top-8, no renormalisation, aux 0.01, rms_norm_eps 1e-5, q/k norms over the whole projections.
    const o = parseConfig(OLMOE);
    expect(o.moe).toMatchObject({ experts: 64, topK: 8, normTopK: false, expertInner: 24, sharedInner: 0, auxCoef: 0.01 });
    expect(o).toMatchObject({ arch: 'olmoe', normEps: 1e-5, qkNorm: true, qkNormWhole: true, attentionBias: false, tiedEmbeddings: false });
    const olmoeSpecs = paramSpecs({ ...o, moe: { ...o.moe!, experts: 3, topK: 2 } }, [{ start: 0, rows: 50 }]);
    expect(olmoeSpecs.find((x) => x.name === 'layers.1.q_norm.weight')!.shape).toEqual([32]);
    expect(olmoeSpecs.find((x) => x.name === 'layers.1.k_norm.weight')!.shape).toEqual([16]);
    expect(parseConfig({ ...OLMOE, architectures: ['OlmoeForCausalLM'], model_type: undefined }).arch).toBe('olmoe');
  });

  it('refuses a router it does not implement with one line naming the field', () => {
    expectInputError(() => parseConfig({ ...MIXTRAL, topk_method: 'group_limited_greedy', n_group: 8 }), 'config.json', 'topk_method', /grouped/);
    expectInputError(() => parseConfig({ ...QWEN2_MOE, n_group: 4 }), 'config.json', 'n_group', /grouped top-k/);
    expectInputError(() => parseConfig({ ...MIXTRAL, moe_layer_freq: 2 }), 'config.json', 'moe_layer_freq', /only some layers/);
    expectInputError(() => parseConfig({ ...MIXTRAL, scoring_func: 'sigmoid' }), 'config.json', 'scoring_func', /softmax/);
    expectInputError(() => parseConfig({ ...MIXTRAL, router_jitter_noise: 0.1 }), 'config.json', 'router_jitter_noise', /jitter/);
    expectInputError(() => parseConfig({ ...QWEN2_MOE, decoder_sparse_step: 2 }), 'config.json', 'decoder_sparse_step', /every layer/);
    expectInputError(() => parseConfig({ ...QWEN2_MOE, mlp_only_layers: [1] }), 'config.json', 'mlp_only_layers', /dense MLP layers/);
    expectInputError(() => parseConfig({ ...MIXTRAL, num_experts_per_tok: 5 }), 'config.json', 'num_experts_per_tok', /only 4 experts/);
    expectInputError(() => parseConfig({ ...OLMOE, clip_qkv: 8 }), 'config.json', 'clip_qkv', /clip_qkv 8.*not supported/);
    expectInputError(() => parseConfig({ ...OLMOE, n_shared_experts: 2 }), 'config.json', 'n_shared_experts', /shared experts/);
  });

  it('LoRA targets: attention and every expert, with PEFT key names; no dense MLP modules', () => {
    const cfg = parseConfig(QWEN2_MOE);
    const ids = resolveTargets(cfg.arch, 'all-linear', { shape: cfg, layers: 2 });
    expect(ids.length).toBe(4 + 3 * 6);
    expect(ids).toContain('mlp.experts.4.down_proj');
    expect(ids).toContain('mlp.shared_expert.gate_proj');
    expect(ids).not.toContain('mlp.gate_proj');
    const shared = linearModules(cfg.arch, cfg).find((m) => m.id === 'mlp.shared_expert.up_proj')!;
    expect(shared.features(cfg)).toEqual({ in: 32, out: 20 });
    expect(targetModulesList(cfg.arch, ids, cfg)).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
    const mixtral = parseConfig(MIXTRAL);
    expect(resolveTargets(mixtral.arch, ['w2'], { shape: mixtral })).toEqual([0, 1, 2, 3].map((e) => `block_sparse_moe.experts.${e}.w2`));
    const olmoe = parseConfig({ ...OLMOE, num_experts: 3, num_experts_per_tok: 2 });
    const olmoeIds = resolveTargets(olmoe.arch, 'all-linear', { shape: olmoe });
    expect(olmoeIds.length).toBe(4 + 3 * 3);
    expect(olmoeIds).toContain('mlp.experts.2.up_proj');
    expect(loraKey('olmoe', 0, 'mlp.experts.2.up_proj', 'B')).toBe('base_model.model.model.layers.0.mlp.experts.2.up_proj.lora_B.weight');
    const key = loraKey('mixtral', 1, 'block_sparse_moe.experts.3.w1', 'A');
    expect(key).toBe('base_model.model.model.layers.1.block_sparse_moe.experts.3.w1.lora_A.weight');
    expect(parseLoraKey(key)).toMatchObject({ layer: 1, module: 'block_sparse_moe.experts.3.w1', which: 'A' });
  });

  it('the memory estimate counts every expert: the tinymixtral preset holds 701M f32 parameters', () => {
    const cfg = parseConfig(PRESETS['tinymixtral-4x248m']);
    const parts = estimateTrainingMemory(cfg, {
      method: 'lora', batch: 1, seq: 16, r: 8, loraModules: [], loraDropout: 0, gradCheckpointing: false, validation: false,
    });
    expect(parts['weights']! / 4 / 1e6).toBeGreaterThan(700);
    expect(parts['weights']! / 4 / 1e6).toBeLessThan(703);
  });
});
