import type { Transformer } from '../model/transformer.ts';
import type { ParamStore } from '../model/param-store.ts';
import type { TrainConfig } from './config.ts';
import type { Row } from '../data/rows.ts';
import { Trainer } from './trainer.ts';

/** One step of the sweep: the learning rate it used, its batch loss and the smoothed loss. */
export interface LrPoint {
  readonly step: number;
  readonly lr: number;
  readonly loss: number;
  readonly smoothed: number;
}

export interface LrFinderResult {
  readonly points: readonly LrPoint[];
  /** The learning rate to use: a tenth of the one at the lowest smoothed loss (Smith's rule). */
  readonly suggested: number;
  /** Where the smoothed loss fell fastest per decade of learning rate. */
  readonly steepest: number | null;
  /** Where the smoothed loss was lowest. */
  readonly minimum: number;
  /** Why the sweep ended before its last step ('diverged', or the trainer's message), or null. */
  readonly stopped: string | null;
}

export interface LrFinderOptions {
  /** Batch, accumulation, clipping, AdamW settings and seed; its lr and schedule are not used. */
  readonly config: TrainConfig;
  readonly seq: number;
  readonly train: readonly Row[];
  readonly minLr?: number;
  readonly maxLr?: number;
  readonly steps?: number;
  /** Weight of the previous smoothed loss (bias-corrected exponential average). */
  readonly smoothing?: number;
  /** The sweep stops when the smoothed loss exceeds this multiple of its lowest value. */
  readonly divergence?: number;
  readonly onPoint?: (p: LrPoint) => void;
}

/**
 * The learning-rate range test (Smith 2017, as fastai's `lr_find`): train a few dozen steps with
 * the learning rate growing exponentially from `minLr` to `maxLr`, smooth the losses, stop when
 * they blow up, and suggest a rate below the one with the lowest loss. The trainable weights (the
 * attached adapter, or every weight for full fine-tuning) are put back as they were afterwards,
 * so a fresh adapter stays fresh for the real run.
 */
export async function findLearningRate(model: Transformer, o: LrFinderOptions): Promise<LrFinderResult> {
  const minLr = o.minLr ?? 1e-6;
  const maxLr = o.maxLr ?? 1;
  const steps = o.steps ?? 40;
  const beta = o.smoothing ?? 0.8;
  const limit = o.divergence ?? 4;
  if (!(minLr > 0 && maxLr > minLr)) throw new RangeError(`the sweep needs 0 < min lr < max lr, got ${minLr} and ${maxLr}`);
  if (!Number.isInteger(steps) || steps < 5) throw new RangeError(`the sweep needs at least 5 steps, got ${steps}`);
  if (o.config.method === 'lora' && !model.lora) throw new Error('attach a LoRA adapter before the learning-rate range test');
  const lrAt = (k: number) => minLr * (maxLr / minLr) ** (k / (steps - 1));
  const store = o.config.method === 'full' ? model.weights.store : model.lora!.store;
  const saved = await readStore(model, store);

  const points: LrPoint[] = [];
  let average = 0;
  let best = Infinity;
  let stopped: string | null = null;
  const config = { ...o.config, steps, schedule: 'constant' as const, warmup: 0, evalEvery: 0, saveEvery: 0, earlyStoppingPatience: 0 };
  let trainer: Trainer | null = null;
  trainer = await Trainer.create({
    model, config, seq: o.seq, train: o.train, lrForStep: lrAt,
    onEvent: (e) => {
      if (e.type !== 'step' || stopped) return;
      if (!Number.isFinite(e.loss)) {
        stopped = 'diverged';
        trainer?.stop();
        return;
      }
      average = beta * average + (1 - beta) * e.loss;
      const smoothed = average / (1 - beta ** e.step);
      const p = { step: e.step, lr: e.lr, loss: e.loss, smoothed };
      points.push(p);
      o.onPoint?.(p);
      best = Math.min(best, smoothed);
      if (smoothed > limit * best) {
        stopped = 'diverged';
        trainer?.stop();
      }
    },
  });
  try {
    const summary = await trainer.run();
    // The trainer's own NaN/divergence guard ends a sweep too; any other failure is a real error.
    if (summary.state === 'failed' && !stopped) {
      if (!/diverging|the run stopped/.test(summary.message ?? '')) throw new Error(summary.message ?? 'the sweep failed');
      stopped = 'diverged';
    }
  } finally {
    trainer.destroy();
    writeStore(model, store, saved);
    model.setTrainable('none');
    await model.gpu.sync();
  }
  if (points.length < 3) throw new Error(`the loss diverged after ${points.length} steps of the sweep; lower the minimum learning rate`);
  return { points, ...suggest(points), stopped };
}

/** Smith's minimum/10 rule and the steepest descent of the smoothed loss against log(lr). */
export function suggest(points: readonly LrPoint[]): { suggested: number; steepest: number | null; minimum: number } {
  let low = 0;
  points.forEach((p, i) => {
    if (p.smoothed < points[low]!.smoothed) low = i;
  });
  let steepest: number | null = null;
  let slope = 0;
  for (let i = 1; i <= low; i++) {
    const d = (points[i]!.smoothed - points[i - 1]!.smoothed) / Math.log10(points[i]!.lr / points[i - 1]!.lr);
    if (d < slope) {
      slope = d;
      steepest = points[i]!.lr;
    }
  }
  const minimum = points[low]!.lr;
  return { suggested: minimum / 10, steepest, minimum };
}

async function readStore(model: Transformer, store: ParamStore): Promise<Float32Array[]> {
  return Promise.all(store.lengths.map((n, i) => model.gpu.readF32(store.buffers[i]!, 0, n)));
}

function writeStore(model: Transformer, store: ParamStore, data: readonly Float32Array[]): void {
  data.forEach((d, i) => model.gpu.write(store.buffers[i]!, d));
}
