import { Slot, StepState } from '../kernels/step-state.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Batch, StepPlan } from '../model/step-plan.ts';
import type { AdamW } from './adamw.ts';

export interface StepResult {
  /** Mean loss over the step's target tokens, before the update. */
  readonly loss: number;
  /** Global L2 norm of the gradients before clipping. */
  readonly gradNorm: number;
  readonly targets: number;
  /** Method-specific metrics, named as TRL logs them (rewards/chosen, ...). */
  readonly metrics?: Readonly<Record<string, number>>;
}

/**
 * One optimizer step over micro-batches: zero the gradients, forward+backward each micro-batch
 * (the loss is the mean over every target token of the step, as transformers computes it with
 * gradient accumulation), then clip and update. One submit per micro-batch plus one.
 */
export function runStep(
  gpu: Gpu, plan: StepPlan, opt: AdamW | null, step: StepState, micro: readonly Batch[], lr: number, seed: number,
): { targets: number; done: Promise<StepResult> } {
  const encoded = micro.map((b) => plan.encode(b));
  const targets = encoded.reduce((n, e) => n + e.targets, 0);
  const submitted = step.serial(async () => {
    const readback = await step.readback();
    step.begin({ lr, ...(opt?.nextCorrections() ?? { biasCorrection1: 1, biasCorrection2: 1 }), lossScale: targets > 0 ? 1 / targets : 0, seed });
    // One command buffer per micro-batch: the first also zeroes the gradients, the last also
    // updates the weights and copies the step's loss and gradient norm out.
    encoded.forEach((e, i) => {
      plan.write(e.data);
      const programs = [plan.forward];
      if (plan.backward) programs.push(plan.backward);
      if (opt && i === 0) programs.unshift(opt.zeroGrads);
      if (i === encoded.length - 1) {
        if (opt) programs.push(opt.program);
        programs.push(readback.program);
      }
      gpu.run(...programs);
    });
    if (opt) opt.t++;
    return readback;
  });
  const done = submitted.then(async (readback) => {
    const v = await readback.read();
    return { loss: targets > 0 ? v[Slot.lossSum]! / targets : NaN, gradNorm: Math.sqrt(v[Slot.gradNormSq]!), targets };
  });
  return { targets, done };
}

export { StepState };
