/**
 * The training log in words, made from a run's events. The events are stored with the run in
 * IndexedDB, so the same log comes back after a reload and grows on when the run continues.
 */
import type { RunState, TrainEvent } from '../../core/train/events.ts';
import { num, sci } from './format.ts';

export interface LogEntry {
  readonly id: number;
  /** Wall-clock time when the line was seen live; null for lines rebuilt from stored events. */
  readonly time: number | null;
  readonly level: 'info' | 'warning' | 'error' | 'success';
  readonly step: number;
  readonly text: string;
}

const LOG_MAX = 400;
let nextId = 1;

export class RunLog {
  entries: LogEntry[] = [];
  /** One line per checkpoint step, however many times that step is saved (a stop right after a periodic save). */
  private checkpointSteps = new Set<number>();

  note(level: LogEntry['level'], step: number, text: string, time: number | null): void {
    this.entries.push({ id: nextId++, time, level, step, text });
    if (this.entries.length > LOG_MAX) this.entries.splice(0, this.entries.length - LOG_MAX);
  }

  add(e: TrainEvent, time: number | null): void {
    switch (e.type) {
      case 'step': {
        const every = Math.max(1, Math.round(e.totalSteps / 20));
        if (e.step === 1 || e.step % every === 0 || e.step === e.totalSteps) {
          const text = `step ${e.step}/${e.totalSteps} · loss ${e.loss.toFixed(4)} · lr ${sci(e.lr)} · grad norm ${e.gradNorm.toFixed(3)}`;
          this.note('info', e.step, text, time);
        }
        break;
      }
      case 'eval': {
        const best = e.best ? ' · best so far' : '';
        this.note(e.best ? 'success' : 'info', e.step, `validation loss ${e.valLoss.toFixed(4)} (perplexity ${num(e.valPerplexity)})${best}`, time);
        break;
      }
      case 'checkpoint':
        if (this.checkpointSteps.has(e.step)) break;
        this.checkpointSteps.add(e.step);
        this.note('info', e.step, `checkpoint saved at step ${e.step}`, time);
        break;
      case 'alert':
        this.note(e.level, e.step, e.message, time);
        break;
      case 'state':
        if (e.state === 'paused' || e.state === 'running') this.note('info', e.step, e.state, time);
        else this.end(e.state, e.step, time);
        break;
    }
  }

  /** The run's last line: how it ended and, when stopped, that it can continue. */
  end(state: Exclude<RunState, 'running' | 'paused'>, step: number, time: number | null): void {
    const level = state === 'failed' ? 'error' : state === 'stopped' ? 'info' : 'success';
    const text = state === 'stopped'
      ? `run stopped at the end of step ${step}${this.checkpointSteps.has(step) ? '; it can continue from that checkpoint (Runs view)' : ''}`
      : `run ${state} after ${step} steps`;
    this.note(level, step, text, time);
  }

  /** A stored run's log: its events, then how it ended (when it did). */
  static of(events: readonly TrainEvent[], state?: string): RunLog {
    const log = new RunLog();
    for (const e of events) log.add(e, null);
    const last = [...events].reverse().find((e) => e.type === 'step');
    if (state === 'stopped' || state === 'finished' || state === 'failed' || state === 'early-stopped') log.end(state, last?.step ?? 0, null);
    return log;
  }
}
