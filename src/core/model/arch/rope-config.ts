/**
 * RoPE settings from config.json. Both spellings are accepted — top-level `rope_theta` +
 * `rope_scaling` (transformers 4 and most Hub checkpoints) and transformers 5's
 * `rope_parameters: {rope_theta, rope_type, ...}`.
 */
import { InputError } from '../../errors.ts';
import { isObject, type ConfigReader } from './config-reader.ts';
import type { RopeConfig, RopeType } from './types.ts';

export const SUPPORTED_ROPE_TYPES: readonly RopeType[] = ['default', 'linear', 'llama3'];

export function parseRope(r: ConfigReader): RopeConfig {
  const file = r.file;
  const params = r.json['rope_parameters'];
  let src: Record<string, unknown>;
  let key: string;
  let theta: number;
  if (params !== undefined && params !== null) {
    key = 'rope_parameters';
    if (!isObject(params)) throw new InputError(file, 'must be an object', key);
    if (params['rope_type'] === undefined && params['type'] === undefined && params['rope_theta'] === undefined) {
      throw new InputError(file, 'per-layer-type RoPE parameters are not supported (expected {rope_theta, rope_type, ...})', key);
    }
    src = params;
    const t = params['rope_theta'] ?? r.json['rope_theta'] ?? 10000;
    if (typeof t !== 'number' || !(t > 0)) throw new InputError(file, `rope_theta must be a positive number, got ${JSON.stringify(t)}`, key);
    theta = t;
  } else {
    theta = r.num('rope_theta', 10000);
    if (!(theta > 0)) throw new InputError(file, `must be positive, got ${theta}`, 'rope_theta');
    const scaling = r.json['rope_scaling'];
    key = 'rope_scaling';
    if (scaling === undefined || scaling === null) return { theta, type: 'default' };
    if (!isObject(scaling)) throw new InputError(file, 'must be an object or null', key);
    src = scaling;
  }
  const partial = r.json['partial_rotary_factor'] ?? src['partial_rotary_factor'];
  if (partial !== undefined && partial !== null && partial !== 1) {
    throw new InputError(file, `partial rotary embeddings (partial_rotary_factor ${JSON.stringify(partial)}) are not supported`, 'partial_rotary_factor');
  }
  // transformers 4 spelled rope_type as "type".
  const rawType = src['rope_type'] ?? src['type'] ?? 'default';
  if (typeof rawType !== 'string' || !(SUPPORTED_ROPE_TYPES as readonly string[]).includes(rawType)) {
    throw new InputError(file, `RoPE type ${JSON.stringify(rawType)} is not supported (supported: ${SUPPORTED_ROPE_TYPES.join(', ')})`, key);
  }
  const type = rawType as RopeType;
  const need = (name: string): number => {
    const v = src[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(file, `RoPE type "${type}" needs a numeric ${name}, got ${JSON.stringify(v)}`, key);
    return v;
  };
  if (type === 'default') return { theta, type };
  const factor = need('factor');
  if (!(factor > 0)) throw new InputError(file, `factor must be positive, got ${factor}`, key);
  if (type === 'linear') return { theta, type, factor };
  const lowFreqFactor = need('low_freq_factor');
  const highFreqFactor = need('high_freq_factor');
  const originalMaxPositions = need('original_max_position_embeddings');
  if (!(highFreqFactor > lowFreqFactor) || !(lowFreqFactor > 0)) {
    throw new InputError(file, `llama3 RoPE needs 0 < low_freq_factor < high_freq_factor, got ${lowFreqFactor} and ${highFreqFactor}`, key);
  }
  if (!(originalMaxPositions > 0)) throw new InputError(file, `original_max_position_embeddings must be positive`, key);
  return { theta, type, factor, lowFreqFactor, highFreqFactor, originalMaxPositions };
}
