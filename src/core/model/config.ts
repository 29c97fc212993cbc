/**
 * Hugging Face `config.json` → a normalized ModelConfig for the architectures tabtune runs.
 *
 * Each family's fields and defaults are declared in its own file under arch/ (following its
 * transformers config class: a field that transformers fills from its class default is filled the
 * same way, while the fields that define the model's shape are required, since a checkpoint
 * without them is not one we can check the weights against). Special tokens and dtype are common.
 */
import { InputError } from '../errors.ts';
import { ConfigReader, isObject } from './arch/config-reader.ts';
import { ARCHITECTURES, detectArch } from './arch/index.ts';
import type { Architecture, ModelConfig } from './arch/types.ts';

export type { Architecture, ModelConfig, RopeConfig, RopeType } from './arch/types.ts';
export { SUPPORTED_ROPE_TYPES } from './arch/rope-config.ts';

/** model_type values tabtune runs (each declared in src/core/model/arch/). */
export const SUPPORTED_ARCHITECTURES: readonly Architecture[] = ARCHITECTURES.map((a) => a.modelType);

/** Validates one special-token field against the vocabulary; returns the ids inside it. */
function tokenIds(r: ConfigReader, key: string, vocab: number, warnings: string[]): number[] {
  const v = r.json[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  const out: number[] = [];
  for (const id of list) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      throw new InputError(r.file, `must be a token id or a list of them, got ${JSON.stringify(v)}`, key);
    }
    if (id < 0 || id >= vocab) warnings.push(`${key} ${id} is outside the vocabulary (${vocab} tokens) and is ignored`);
    else out.push(id);
  }
  return out;
}

/** Parses a config.json object. Every error is an InputError naming `file` and the field. */
export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (!isObject(json)) throw new InputError(file, 'not a JSON object');
  const spec = detectArch(file, json);
  const arch = spec.modelType;
  const r = new ConfigReader(file, json);
  const warnings: string[] = [];
  const modelType = typeof json['model_type'] === 'string' ? json['model_type'] : arch;
  const dtype = r.str('dtype', r.str('torch_dtype', 'float32'));

  const cfg = spec.shape(r, warnings);

  const bos = tokenIds(r, 'bos_token_id', cfg.vocabSize, warnings);
  const eos = tokenIds(r, 'eos_token_id', cfg.vocabSize, warnings);
  const pad = tokenIds(r, 'pad_token_id', cfg.vocabSize, warnings);
  const out: ModelConfig = { arch, modelType, dtype, ...cfg, eosTokenIds: eos, warnings, raw: json };
  if (bos.length) out.bosTokenId = bos[0]!;
  if (pad.length) out.padTokenId = pad[0]!;
  return out;
}

export interface RopeParameters {
  /** One inverse frequency per pair of rotated dimensions (headDim / 2 values). */
  invFreq: Float64Array;
  /** Multiplier on cos and sin ("attention_factor" in transformers); 1 for default, linear, llama3. */
  attentionScaling: number;
}

/**
 * inv_freq and attention scaling as transformers' rope init functions compute them
 * (`_compute_default_rope_parameters`, `_compute_linear_scaling_rope_parameters`,
 * `_compute_llama3_parameters`), with dim = headDim. Computed in float64; transformers computes in
 * float32, so round with `Float32Array.from(invFreq)` to match it to about one ulp.
 */
export function ropeParameters(cfg: ModelConfig): RopeParameters {
  const rope = cfg.rope;
  if (!rope) throw new Error(`${cfg.arch} has no rotary position embeddings`);
  const dim = cfg.headDim;
  const half = dim / 2;
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / rope.theta ** ((2 * i) / dim);
  if (rope.type === 'linear') {
    for (let i = 0; i < half; i++) invFreq[i]! /= rope.factor!;
  } else if (rope.type === 'llama3') {
    const factor = rope.factor!;
    const low = rope.lowFreqFactor!;
    const high = rope.highFreqFactor!;
    const oldContext = rope.originalMaxPositions!;
    const lowFreqWavelen = oldContext / low;
    const highFreqWavelen = oldContext / high;
    for (let i = 0; i < half; i++) {
      const f = invFreq[i]!;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highFreqWavelen) continue; // high frequencies: unchanged
      if (wavelen > lowFreqWavelen) {
        invFreq[i] = f / factor; // low frequencies: scaled like linear
        continue;
      }
      // In between: interpolate smoothly between the scaled and the unscaled frequency.
      const smooth = (oldContext / wavelen - low) / (high - low);
      invFreq[i] = (1 - smooth) * (f / factor) + smooth * f;
    }
  }
  return { invFreq, attentionScaling: 1 };
}

/** The RoPE inverse frequencies (see ropeParameters). */
export function ropeInvFreq(cfg: ModelConfig): Float64Array {
  return ropeParameters(cfg).invFreq;
}

/** The factor applied to cos/sin (1 for every supported RoPE type). */
export function ropeAttentionScaling(cfg: ModelConfig): number {
  return ropeParameters(cfg).attentionScaling;
}
