import type { Gpu } from '../gpu/gpu.ts';
import { tensorOf, type Tensor } from '../gpu/tensor.ts';

/**
 * Per-step scalars in one small GPU buffer. The CPU writes the schedule values once per step;
 * kernels write the reductions (loss, gradient norm). Keeping them here, not in uniforms baked
 * into a plan, is what lets a plan be replayed step after step.
 */
export const Slot = {
  /** f32, CPU: learning rate of this step. */
  lr: 0,
  /** f32, CPU: 1 − β1^t and 1 − β2^t. */
  biasCorrection1: 1,
  biasCorrection2: 2,
  /** f32, GPU: Σ g² over every trainable parameter. */
  gradNormSq: 3,
  /** f32, GPU: Σ loss over target tokens of the step (all micro-batches). */
  lossSum: 4,
  /** f32, CPU: 1 / number of target tokens in the step (the loss is their mean). */
  lossScale: 5,
  /** u32, CPU: dropout seed of this step. */
  seed: 6,
} as const;

export const STEP_SLOTS = 8;

export class StepState {
  readonly tensor: Tensor;
  private readonly data = new ArrayBuffer(STEP_SLOTS * 4);
  private readonly f32 = new Float32Array(this.data);
  private readonly u32 = new Uint32Array(this.data);

  constructor(private readonly gpu: Gpu) {
    this.tensor = tensorOf(gpu.createBuffer(STEP_SLOTS * 4, 'scratch', 'step-state'), [STEP_SLOTS]);
  }

  /** Writes the CPU-owned slots; GPU-owned slots are reset to zero for the new step. */
  begin(values: { lr: number; biasCorrection1: number; biasCorrection2: number; lossScale: number; seed: number }): void {
    this.f32.fill(0);
    this.f32[Slot.lr] = values.lr;
    this.f32[Slot.biasCorrection1] = values.biasCorrection1;
    this.f32[Slot.biasCorrection2] = values.biasCorrection2;
    this.f32[Slot.lossScale] = values.lossScale;
    this.u32[Slot.seed] = values.seed >>> 0;
    this.gpu.write(this.tensor.buffer, this.f32);
  }
}
