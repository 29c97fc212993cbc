/**
 * How one optimizer step turns micro-batches into gradients. SFT is the default (`runStep`: mean
 * token cross-entropy); preference methods plug in their own objective. The loop, data order,
 * optimizer, checkpoints and events stay the trainer's.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { StepState } from '../kernels/step-state.ts';
import type { Batch, StepPlan } from '../model/step-plan.ts';
import type { AdamW } from './adamw.ts';
import type { StepResult } from './step.ts';

export interface StepObjective {
  /** Consecutive training rows that form one example and must share a micro-batch (a pair: 2). */
  readonly rowsPerExample: number;
  /** One optimizer step; `rows` are the training-row indices laid into the micro-batches in order. */
  run(gpu: Gpu, plan: StepPlan, opt: AdamW, step: StepState, micro: readonly Batch[], rows: readonly number[], lr: number, seed: number): {
    targets: number;
    done: Promise<StepResult>;
  };
}
