/**
 * The `general.*` and architecture keys llama.cpp reads (llama-arch.cpp's LLM_KV names), with the
 * values convert_hf_to_gguf.py writes for Llama, Qwen2 and GPT-2.
 */
import { archSpec } from '../model/arch/index.ts';
import type { ModelConfig } from '../model/config.ts';
import { GGUF_DEFAULT_ALIGNMENT, type GgufMetadata } from '../formats/gguf.ts';
import { GgmlType } from '../formats/gguf-quant.ts';

/** llama_ftype: what most of the weights are. */
export const FILE_TYPE: Record<GgmlType, number> = { [GgmlType.F32]: 0, [GgmlType.F16]: 1, [GgmlType.Q8_0]: 7 };

export function generalMetadata(cfg: ModelConfig, name: string, type: 'model' | 'adapter'): GgufMetadata {
  const md: GgufMetadata = new Map();
  md.set('general.architecture', { type: 'string', value: cfg.arch });
  md.set('general.type', { type: 'string', value: type });
  md.set('general.name', { type: 'string', value: name });
  md.set('general.alignment', { type: 'u32', value: GGUF_DEFAULT_ALIGNMENT });
  return md;
}

/** Shape, attention, normalisation and RoPE keys under the architecture's prefix. */
export function architectureMetadata(cfg: ModelConfig, md: GgufMetadata): void {
  const a = cfg.arch;
  const u32 = (key: string, value: number): void => void md.set(`${a}.${key}`, { type: 'u32', value });
  const f32 = (key: string, value: number): void => void md.set(`${a}.${key}`, { type: 'f32', value });
  u32('vocab_size', cfg.vocabSize);
  u32('context_length', cfg.maxPositions);
  u32('embedding_length', cfg.hidden);
  u32('block_count', cfg.layers);
  u32('feed_forward_length', cfg.intermediate);
  u32('attention.head_count', cfg.heads);
  if (archSpec(cfg.arch).gguf.blocks === 'gpt2') {
    f32('attention.layer_norm_epsilon', cfg.normEps);
    return;
  }
  u32('attention.head_count_kv', cfg.kvHeads);
  u32('attention.key_length', cfg.headDim);
  u32('attention.value_length', cfg.headDim);
  u32('rope.dimension_count', cfg.headDim);
  f32('attention.layer_norm_rms_epsilon', cfg.normEps);
  const rope = cfg.rope!;
  f32('rope.freq_base', rope.theta);
  if (rope.type === 'linear') {
    md.set(`${a}.rope.scaling.type`, { type: 'string', value: 'linear' });
    f32('rope.scaling.factor', rope.factor!);
  }
  // llama3 scaling travels as the rope_freqs tensor (gguf-tensors.ts), as the converter does.
}
