/** The training log rebuilt from a run's stored events equals the live one; a checkpoint shows once. */
import { describe, expect, it } from 'vitest';
import { RunLog } from '../../src/app/lib/run-log.ts';
import type { TrainEvent } from '../../src/core/train/events.ts';

const step = (n: number, total = 40): TrainEvent => ({
  type: 'step', step: n, totalSteps: total, epoch: n / total, loss: 3 - n / 20, lr: 2e-4, gradNorm: 0.5, tokensPerSecond: 100, gpuMemory: 1, gpuMemoryPeak: 1, elapsedMs: n * 100,
});

describe('RunLog', () => {
  const events: TrainEvent[] = [
    step(1), step(2), { type: 'checkpoint', step: 2 }, { type: 'eval', step: 2, valLoss: 2.5, valPerplexity: 12.18, best: true },
    { type: 'alert', level: 'warning', step: 2, message: 'loss spike' }, step(3), step(4),
    // A stop right after a periodic checkpoint saves the same step again.
    { type: 'checkpoint', step: 4 }, { type: 'checkpoint', step: 4 },
  ];

  it('rebuilds the same lines from stored events as it showed live, with the ending', () => {
    const live = new RunLog();
    for (const e of events) live.add(e, 1000);
    live.add({ type: 'state', state: 'stopped', step: 4 }, 1000);
    const stored = RunLog.of(events, 'stopped');
    expect(stored.entries.map((e) => [e.level, e.step, e.text])).toEqual(live.entries.map((e) => [e.level, e.step, e.text]));
    expect(stored.entries.every((e) => e.time === null)).toBe(true);
    const texts = stored.entries.map((e) => e.text);
    expect(texts.filter((t) => t === 'checkpoint saved at step 4')).toHaveLength(1);
    expect(texts).toContain('validation loss 2.5000 (perplexity 12.18) · best so far');
    expect(texts).toContain('loss spike');
    expect(texts.at(-1)).toBe('run stopped at the end of step 4; it can continue from that checkpoint (Runs view)');
  });

  it('logs a step line about every twentieth of the run, and the first and last', () => {
    const log = RunLog.of(Array.from({ length: 40 }, (_, i) => step(i + 1)), 'finished');
    const steps = log.entries.filter((e) => e.text.startsWith('step ')).map((e) => e.step);
    expect(steps).toEqual([1, ...Array.from({ length: 20 }, (_, i) => 2 * (i + 1))]);
    expect(log.entries.at(-1)!.text).toBe('run finished after 40 steps');
  });
});
