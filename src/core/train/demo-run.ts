/**
 * The demo task (grounded question answering on the demo model): its settings, its run and the
 * answers worth showing. The pipeline that runs it is core/pipeline/demo-job.ts.
 */
import { trainConfig, type TrainConfig } from './config.ts';

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
