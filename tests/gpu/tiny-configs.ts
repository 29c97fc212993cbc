/** Gemma 3 in miniature: (1 + γ) norms, post-norms, GeGLU, q/k norms, a sliding layer with its own rope base, head_dim 24. */
export const GEMMA3_TINY = {
  architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', hidden_size: 40, intermediate_size: 36, num_hidden_layers: 2,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 24, vocab_size: 97, max_position_embeddings: 32, rms_norm_eps: 1e-6,
  rope_theta: 1000, rope_local_base_freq: 10, query_pre_attn_scalar: 20, sliding_window: 3,
  layer_types: ['sliding_attention', 'full_attention'], hidden_activation: 'gelu_pytorch_tanh', initializer_range: 0.2,
  attn_logit_softcapping: null, final_logit_softcapping: null,
};
