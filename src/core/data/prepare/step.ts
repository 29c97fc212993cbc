/**
 * Steps consume records one at a time and report at the end, so the same step runs
 * synchronously (tests, CLI) or in slices that give the event loop back (a Web Worker must keep
 * answering messages, e.g. "cancel", while 100,000 records are cleaned).
 */
import type { DatasetRecord } from '../records.ts';
import type { StepResult } from './types.ts';

export interface RecordStep<R extends StepResult = StepResult> {
  readonly name: string;
  push(record: DatasetRecord, index: number): void;
  finish(): R;
}

export function runStep<R extends StepResult>(step: RecordStep<R>, records: readonly DatasetRecord[]): R {
  for (let i = 0; i < records.length; i++) step.push(records[i]!, i);
  return step.finish();
}

export interface ProgressHooks {
  /** Called at the start and end of each step and every `yieldEvery` records. */
  readonly onProgress?: (step: string, done: number, total: number) => void;
  /** Records between yields. Default 2000. */
  readonly yieldEvery?: number;
  /** How to give the event loop back; default `yieldToEventLoop`. */
  readonly yieldTo?: () => Promise<void>;
}

export const DEFAULT_YIELD_EVERY = 2000;

/**
 * A macrotask boundary, so queued messages are handled. A resolved promise would not do (only
 * microtasks run), and `setTimeout(0)` is clamped to 4 ms after a few nested calls in browsers;
 * `scheduler.yield()` or a MessageChannel round trip are not. setTimeout is the last resort.
 */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { scheduler?: { yield?: () => Promise<void> } };
  if (typeof g.scheduler?.yield === 'function') return g.scheduler.yield();
  if (typeof MessageChannel === 'function') {
    return new Promise((resolve) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        ch.port1.close();
        resolve();
      };
      ch.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export async function runStepAsync<R extends StepResult>(
  step: RecordStep<R>,
  records: readonly DatasetRecord[],
  hooks: ProgressHooks = {},
): Promise<R> {
  const every = Math.max(1, hooks.yieldEvery ?? DEFAULT_YIELD_EVERY);
  const yieldTo = hooks.yieldTo ?? yieldToEventLoop;
  const total = records.length;
  hooks.onProgress?.(step.name, 0, total);
  for (let i = 0; i < total; i++) {
    step.push(records[i]!, i);
    if ((i + 1) % every === 0 && i + 1 < total) {
      hooks.onProgress?.(step.name, i + 1, total);
      await yieldTo();
    }
  }
  const result = step.finish();
  hooks.onProgress?.(step.name, total, total);
  return result;
}
