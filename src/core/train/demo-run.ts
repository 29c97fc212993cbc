import { packRows } from '../data/rows.ts';
import { evaluate, type EvalExample, type EvalItem, type EvalReport } from '../eval/report.ts';
import type { Session } from '../session.ts';
import { trainConfig, type TrainConfig } from './config.ts';
import type { TrainEvent } from './events.ts';
import type { Row } from '../data/rows.ts';
import { Trainer, type TrainSummary } from './trainer.ts';

/** Held-out scores of one model: the before/after figures of the demo. */
export interface DemoScores {
  readonly loss: number;
  readonly perplexity: number;
  readonly exact: number;
  readonly contains: number;
}

/** One held-out question answered by the base and the fine-tuned model. */
export interface DemoAnswer {
  readonly prompt: string;
  readonly reference: string;
  readonly base: string;
  readonly tuned: string;
  readonly baseContains: boolean;
  readonly tunedContains: boolean;
  readonly tunedExact: boolean;
}

export interface DemoResult {
  readonly before: DemoScores;
  readonly after: DemoScores;
  readonly answers: readonly DemoAnswer[];
  readonly summary: TrainSummary;
  readonly events: readonly TrainEvent[];
  readonly rows: readonly Row[];
  readonly seq: number;
  readonly seconds: number;
}

export interface DemoOptions {
  readonly config: TrainConfig;
  /** Row length; training examples are packed into rows of this many tokens. */
  readonly seq: number;
  /** Tokens generated per held-out answer (the answers are short spans). */
  readonly maxNewTokens: number;
  readonly onEvent?: (e: TrainEvent) => void;
  readonly onProgress?: (phase: 'before' | 'after', done: number, total: number) => void;
  /** Milliseconds since some origin; the host's clock (the core has no timers of its own). */
  readonly now: () => number;
}

/**
 * The demo pipeline: score and answer every held-out question with the base model, fine-tune a
 * fresh LoRA adapter on the training examples, then score and answer again. The session keeps
 * the trained adapter attached, so the host can save it.
 */
export async function runDemo(session: Session, train: readonly EvalItem[], held: readonly EvalItem[], o: DemoOptions): Promise<DemoResult> {
  const started = o.now();
  const model = session.requireModel();
  session.dropAdapter();
  const judge = (phase: 'before' | 'after') =>
    evaluate(session, held, { generate: held.length, maxNewTokens: o.maxNewTokens, onProgress: (d, t) => o.onProgress?.(phase, d, t) });
  const beforeReport = await judge('before');

  session.newAdapter(o.config.lora, o.config.seed);
  const rows = packRows(train, o.seq, model.cfg.padTokenId ?? model.cfg.eosTokenIds[0] ?? 0);
  const events: TrainEvent[] = [];
  const trainer = await Trainer.create({
    model, config: o.config, seq: o.seq, train: rows,
    onEvent: (e) => {
      events.push(e);
      o.onEvent?.(e);
    },
  });
  let summary: TrainSummary;
  try {
    summary = await trainer.run();
  } finally {
    trainer.destroy();
  }
  if (summary.state === 'failed') throw new Error(summary.message ?? 'the demo run failed');
  const afterReport = await judge('after');
  return {
    before: scores(beforeReport), after: scores(afterReport), answers: pairAnswers(beforeReport.examples, afterReport.examples),
    summary, events, rows, seq: o.seq, seconds: (o.now() - started) / 1000,
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

/**
 * Answers to show, chosen from the actual results: up to `wins` where the base model missed and
 * the fine-tuned one answered right, then one the fine-tuned model still gets wrong (if any).
 */
export function showcase(answers: readonly DemoAnswer[], wins: number): { fixed: DemoAnswer[]; missed: DemoAnswer | null } {
  const fixed = answers.filter((a) => !a.baseContains && a.tunedContains);
  // Exact answers first: they read best.
  fixed.sort((x, y) => Number(y.tunedExact) - Number(x.tunedExact));
  return { fixed: fixed.slice(0, wins), missed: answers.find((a) => !a.tunedContains) ?? null };
}

/** The demo task: its dataset (public/datasets) and the run that learns it in a few minutes on a CPU. */
export const DEMO_TASK = {
  dataset: 'demo-grounded-qa',
  /** Examples are cut at this many tokens (the longest, about 150 characters, is well below). */
  maxLength: 128,
  /** Training rows pack a few examples each. */
  seq: 128,
  /** The longest answer (a region) is under 10 tokens; the fine-tuned model stops at <|im_end|>. */
  maxNewTokens: 12,
  steps: 60,
  lr: 8e-3,
  r: 16,
} as const;

/** The demo's run: LoRA on every linear layer, cosine schedule with warmup, clipping. */
export function demoTrainConfig(o: { steps: number; lr: number; r: number; seed?: number }): TrainConfig {
  return trainConfig({
    method: 'lora', lr: o.lr, schedule: 'cosine', warmup: Math.max(1, Math.round(o.steps / 10)), batch: 4, steps: o.steps,
    weightDecay: 0, clip: 1, seed: o.seed ?? 42,
    lora: { r: o.r, alpha: 2 * o.r, dropout: 0, targets: 'all-linear', rslora: false },
  });
}
