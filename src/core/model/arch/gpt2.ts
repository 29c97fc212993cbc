/**
 * GPT-2 (GPT2LMHeadModel): LayerNorm, learned positions, GELU (tanh) MLP, biases everywhere, and
 * Conv1D weights stored [in, out] (transposed on load). Defaults follow transformers' GPT2Config.
 */
import { layerParam } from './param-names.ts';
import type { ArchSpec } from './types.ts';

export const GPT2: ArchSpec = {
  modelType: 'gpt2',
  classes: ['GPT2LMHeadModel', 'GPT2Model'],
  bodyPrefix: 'transformer.',
  gguf: { blocks: 'gpt2', permuteQK: false, unsupported: () => null },

  shape(r) {
    const act = r.str('activation_function', 'gelu_new');
    if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') {
      r.fail('activation_function', `activation "${act}" is not supported for GPT-2 (supported: gelu_new, gelu_pytorch_tanh)`);
    }
    if (r.bool('scale_attn_by_inverse_layer_idx', false)) {
      r.fail('scale_attn_by_inverse_layer_idx', 'scaling attention by the inverse layer index is not supported');
    }
    if (!r.bool('scale_attn_weights', true)) r.fail('scale_attn_weights', 'unscaled attention (scale_attn_weights false) is not supported');
    const hidden = r.int('n_embd');
    const heads = r.int('n_head');
    if (hidden % heads !== 0) r.fail('n_head', `n_embd ${hidden} is not a multiple of n_head ${heads}`);
    return {
      vocabSize: r.int('vocab_size'),
      hidden,
      layers: r.int('n_layer'),
      heads,
      kvHeads: heads,
      headDim: hidden / heads,
      intermediate: r.int('n_inner', 4 * hidden),
      maxPositions: r.int('n_positions'),
      normEps: r.num('layer_norm_epsilon', 1e-5),
      norm: 'layernorm',
      act: 'gelu_new',
      tiedEmbeddings: r.bool('tie_word_embeddings', true),
      learnedPositions: true,
      qkNorm: false,
      attentionBias: true,
      oBias: true,
      mlpBias: true,
    };
  },

  place(cfg, d, { whole, table }) {
    table('wte.weight', 'embed', true);
    whole('wpe.weight', [cfg.maxPositions, d.H], 'pos');
    for (let i = 0; i < cfg.layers; i++) {
      const h = `h.${i}`;
      const p = (n: string) => layerParam(i, n);
      whole(`${h}.ln_1.weight`, [d.H], p('ln1.weight'));
      whole(`${h}.ln_1.bias`, [d.H], p('ln1.bias'));
      whole(`${h}.attn.c_attn.weight`, [d.H, d.qkvDim], p('qkv.weight'), true);
      whole(`${h}.attn.c_attn.bias`, [d.qkvDim], p('qkv.bias'));
      whole(`${h}.attn.c_proj.weight`, [d.qDim, d.H], p('o.weight'), true);
      whole(`${h}.attn.c_proj.bias`, [d.H], p('o.bias'));
      whole(`${h}.ln_2.weight`, [d.H], p('ln2.weight'));
      whole(`${h}.ln_2.bias`, [d.H], p('ln2.bias'));
      whole(`${h}.mlp.c_fc.weight`, [d.H, d.inner], p('up.weight'), true);
      whole(`${h}.mlp.c_fc.bias`, [d.inner], p('up.bias'));
      whole(`${h}.mlp.c_proj.weight`, [d.inner, d.H], p('down.weight'), true);
      whole(`${h}.mlp.c_proj.bias`, [d.H], p('down.bias'));
    }
    whole('ln_f.weight', [d.H], 'norm.weight');
    whole('ln_f.bias', [d.H], 'norm.bias');
  },
};
