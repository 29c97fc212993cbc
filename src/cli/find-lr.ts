import type { Transformer } from '../core/model/transformer.ts';
import type { TrainConfig } from '../core/train/config.ts';
import { findLearningRate } from '../core/train/lr-finder.ts';
import type { Row } from '../core/data/rows.ts';
import type { Output } from './output.ts';

/** `tabtune train --find-lr`: the sweep as a table (or JSON lines) and the suggestion; trains nothing. */
export async function runFindLr(model: Transformer, config: TrainConfig, seq: number, train: readonly Row[], out: Output): Promise<void> {
  out.say('learning-rate range test: one step at each rate, from a fresh adapter (put back afterwards)');
  out.say('  step        lr      loss  smoothed');
  const r = await findLearningRate(model, {
    config, seq, train,
    onPoint: (p) => {
      out.record({ step: p.step, lr: p.lr, loss: p.loss, smoothed: p.smoothed });
      out.say(`  ${String(p.step).padStart(4)}  ${p.lr.toExponential(2)}  ${p.loss.toFixed(3).padStart(8)}  ${p.smoothed.toFixed(3).padStart(8)}`);
    },
  });
  const e = (x: number | null) => (x === null ? 'n/a' : x.toExponential(1));
  out.say(`${r.stopped === 'diverged' ? 'the loss diverged; ' : ''}lowest smoothed loss at lr ${e(r.minimum)}, steepest descent at ${e(r.steepest)}`);
  out.say(`suggested learning rate: ${e(r.suggested)} (a tenth of the rate with the lowest loss); train with --lr ${Number(r.suggested.toPrecision(2))}`);
  out.record({ suggested_lr: r.suggested, steepest_lr: r.steepest, minimum_lr: r.minimum, stopped: r.stopped, steps: r.points.length });
}
