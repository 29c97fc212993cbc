import type { ModelConfig } from '../model/config.ts';
import type { ParamRange, ParamStore } from '../model/param-store.ts';
import type { TrainConfig } from './config.ts';
import { freezes, trainsParameter } from './freeze.ts';
import { halfFtScale } from './half-ft.ts';

/** A range of a packed store updated with one learning-rate multiple. */
export interface ScaledRange extends ParamRange {
  readonly lrScale: number;
}

/**
 * PEFT's create_loraplus_optimizer groups: lora_B weights and every 1-D parameter (DoRA
 * magnitudes) learn at `ratio` × the base rate, everything else (lora_A) at the base rate.
 */
export function loraPlusScale(ratio: number): (name: string, shape: readonly number[]) => number {
  if (!(ratio > 0) || !Number.isFinite(ratio)) throw new RangeError(`loraplus lr ratio must be a positive number, got ${ratio}`);
  return (name, shape) => (name.endsWith('.lora_B') || shape.length === 1 ? ratio : 1);
}

/**
 * The store's ranges split so that each carries one learning-rate multiple: per tensor, with
 * neighbours of equal decay and multiple merged (the alignment gaps between them hold zeros
 * and stay zero under AdamW).
 */
export function scaledRanges(store: ParamStore, scale?: (name: string, shape: readonly number[]) => number): ScaledRange[] {
  if (!scale) return store.ranges.map((r) => ({ ...r, lrScale: 1 }));
  const decayAt = (buffer: number, offset: number) =>
    store.ranges.find((r) => r.buffer === buffer && offset >= r.offset && offset < r.offset + r.size)!.decay;
  const tensors = store.names.map((name) => {
    const t = store.get(name);
    const size = t.shape.reduce((a, b) => a * b, 1);
    const buffer = store.buffers.indexOf(t.buffer);
    return { buffer, offset: t.offset, size, decay: decayAt(buffer, t.offset), lrScale: scale(name, t.shape) };
  });
  tensors.sort((a, b) => a.buffer - b.buffer || a.offset - b.offset);
  const out: ScaledRange[] = [];
  for (const t of tensors) {
    const last = out[out.length - 1];
    if (last && last.buffer === t.buffer && last.decay === t.decay && last.lrScale === t.lrScale) {
      out[out.length - 1] = { ...last, size: t.offset + t.size - last.offset };
    } else {
      out.push(t);
    }
  }
  return out;
}

/** The optimizer's per-parameter learning-rate multiple for a run: LoRA+ groups, or 0 for frozen weights. */
export function optimizerGroups(config: TrainConfig, cfg: ModelConfig): ((name: string, shape: readonly number[]) => number) | undefined {
  if (config.method === 'lora') return config.loraplusLrRatio !== undefined ? loraPlusScale(config.loraplusLrRatio) : undefined;
  if (config.halfFt) {
    if (freezes(config.freeze)) throw new RangeError('half fine-tuning chooses what trains itself: drop the freezing settings');
    return halfFtScale(cfg, config.seed, 0);
  }
  if (!freezes(config.freeze)) return undefined;
  const trains = trainsParameter(cfg, config.freeze);
  return (name) => (trains(name) ? 1 : 0);
}

/**
 * The weights a full run with plain freezing computes gradients for; undefined when every weight
 * gets one (no freezing, LoRA, and half fine-tuning, whose trained half rotates under one plan).
 */
export function trainedWeights(config: TrainConfig, cfg: ModelConfig): ((name: string) => boolean) | undefined {
  if (config.method !== 'full' || config.halfFt || !freezes(config.freeze)) return undefined;
  return trainsParameter(cfg, config.freeze);
}
