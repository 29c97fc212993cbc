/**
 * Model and adapter folders for the GGUF tests: copies of the fixtures (GPT-2 gets the 512-token
 * bpe512-chat tokenizer, since llama.cpp needs a vocabulary the size of the embedding), random
 * Qwen2, Qwen3 and llama3-rope Llama models, and random PEFT adapters (A and B both non-zero, so the
 * adapter changes the output).
 */
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adapterConfigJson, linearModules, loraKey } from '../../src/core/formats/peft.ts';
import { writeSafetensors } from '../../src/core/formats/safetensors.ts';
import { parseConfig } from '../../src/core/model/config.ts';
import { randomCheckpoint } from '../../src/core/model/presets.ts';
import { randomArray } from './gpu-harness.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIX = join(ROOT, 'tests/fixtures/hf');
export const DEMO = join(ROOT, 'public/models/demo-base');
const CHAT_TOKENIZER = join(FIX, 'tokenizers/bpe512-chat');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tabtune-${prefix}-`));
}

/** A model folder with the bpe512-chat tokenizer files added. */
export function withChatTokenizer(modelDir: string): string {
  const dir = tempDir('model');
  cpSync(modelDir, dir, { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja']) cpSync(join(CHAT_TOKENIZER, f), join(dir, f));
  return dir;
}

/** config.json + random model.safetensors + the bpe512-chat tokenizer. */
export function randomModel(config: Record<string, unknown>, seed: number): string {
  const dir = tempDir('model');
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const { header, tensors } = randomCheckpoint(config, { seed, randomNorms: true });
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([header, ...tensors.map((t) => t.data())]));
  return withChatTokenizer(dir);
}

/** A PEFT adapter on every linear module with random A and B. */
export function randomAdapter(modelDir: string, config: Record<string, unknown>, o: { r: number; alpha: number; scale: number; seed: number; rslora?: boolean }): string {
  const cfg = parseConfig(config);
  const dir = tempDir('adapter');
  const targets = linearModules(cfg.arch).map((m) => m.id);
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(adapterConfigJson({ arch: cfg.arch, r: o.r, alpha: o.alpha, targetModules: targets, useRslora: o.rslora, baseModel: modelDir })));
  const tensors = [];
  let seed = o.seed;
  for (let l = 0; l < cfg.layers; l++) {
    for (const m of linearModules(cfg.arch)) {
      const { in: inF, out: outF } = m.features(cfg);
      tensors.push({ name: loraKey(cfg.arch, l, m.id, 'A'), dtype: 'F32' as const, shape: [o.r, inF], data: randomArray(o.r * inF, ++seed, o.scale) });
      tensors.push({ name: loraKey(cfg.arch, l, m.id, 'B'), dtype: 'F32' as const, shape: [outF, o.r], data: randomArray(outF * o.r, ++seed, o.scale) });
    }
  }
  writeFileSync(join(dir, 'adapter_model.safetensors'), writeSafetensors(tensors));
  return dir;
}

export const QWEN2_CONFIG: Record<string, unknown> = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 512, max_position_embeddings: 128, rms_norm_eps: 1e-6,
  rope_theta: 1000000, tie_word_embeddings: false, hidden_act: 'silu', initializer_range: 0.15, eos_token_id: 2,
};

export const LLAMA3_ROPE_CONFIG: Record<string, unknown> = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 512, max_position_embeddings: 128, rms_norm_eps: 1e-5,
  rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
  tie_word_embeddings: true, hidden_act: 'silu', initializer_range: 0.15, attention_bias: true,
};

export const QWEN3_CONFIG: Record<string, unknown> = {
  architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 48, vocab_size: 512, max_position_embeddings: 128, rms_norm_eps: 1e-6,
  rope_theta: 1000000, tie_word_embeddings: true, hidden_act: 'silu', initializer_range: 0.15, eos_token_id: 2,
};
