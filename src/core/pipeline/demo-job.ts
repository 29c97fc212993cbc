/**
 * The demo pipeline: score and answer every held-out question with the base model, fine-tune a
 * fresh LoRA adapter through the one TrainJob, then score and answer again.
 */
import { evaluate, type EvalExample, type EvalItem, type EvalReport } from '../eval/report.ts';
import type { Session } from '../session.ts';
import type { TrainConfig } from '../train/config.ts';
import type { DemoAnswer, DemoScores } from '../train/demo-run.ts';
import type { TrainEvent } from '../train/events.ts';
import type { TrainSummary } from '../train/trainer.ts';
import { TrainJob, type TrainJobInit, type TrainJobResult } from './train-job.ts';

export interface DemoResult {
  readonly before: DemoScores;
  readonly after: DemoScores;
  readonly answers: readonly DemoAnswer[];
  readonly summary: TrainSummary;
  readonly events: readonly TrainEvent[];
  /** The adapter and run files of the fine-tuning. */
  readonly files: Record<string, Uint8Array>;
  readonly seconds: number;
}

export interface DemoOptions {
  readonly config: TrainConfig;
  /** Training examples are cut at maxLength tokens and packed into rows of exactly `seq`. */
  readonly maxLength: number;
  readonly seq: number;
  /** Tokens generated per held-out answer (the answers are short spans). */
  readonly maxNewTokens: number;
  /** What the run files say about the model and the data. */
  readonly describe: TrainJobInit['describe'];
  readonly onEvent?: (e: TrainEvent) => void;
  readonly onProgress?: (phase: 'before' | 'after', done: number, total: number) => void;
  /** Milliseconds since some origin; the host's clock (the core has no timers of its own). */
  readonly now: () => number;
}

/** Runs the demo. The session keeps the trained adapter attached, so the host can save or try it. */
export async function runDemo(session: Session, train: readonly EvalItem[], held: readonly EvalItem[], o: DemoOptions): Promise<DemoResult> {
  const started = o.now();
  session.dropAdapter();
  const judge = (phase: 'before' | 'after') =>
    evaluate(session, held, { generate: held.length, maxNewTokens: o.maxNewTokens, onProgress: (d, t) => o.onProgress?.(phase, d, t) });
  const beforeReport = await judge('before');

  const job = await TrainJob.create({
    session, config: o.config, examples: { train, validation: [] }, rows: { maxLength: o.maxLength, packing: true, seq: o.seq },
    describe: o.describe, onEvent: o.onEvent,
  });
  let result: TrainJobResult;
  try {
    result = await job.run();
  } finally {
    job.destroy();
  }
  const { summary, files, events } = result;
  if (summary.state === 'failed' || !files) throw new Error(summary.message ?? 'the demo run failed');
  const afterReport = await judge('after');
  return {
    before: scores(beforeReport), after: scores(afterReport), answers: pairAnswers(beforeReport.examples, afterReport.examples),
    summary, events, files, seconds: (o.now() - started) / 1000,
  };
}

function scores(r: EvalReport): DemoScores {
  return { loss: r.loss, perplexity: r.perplexity, exact: r.exactMatch ?? 0, contains: r.contains ?? 0 };
}

function pairAnswers(before: readonly EvalExample[], after: readonly EvalExample[]): DemoAnswer[] {
  return before.flatMap((b, i) => {
    const a = after[i];
    if (b.reference === undefined || a?.generated === undefined) return [];
    return [{
      prompt: b.prompt ?? '', reference: b.reference, base: b.generated ?? '', tuned: a.generated,
      baseContains: b.contains === true, tunedContains: a.contains === true, tunedExact: a.exactMatch === true,
    }];
  });
}
