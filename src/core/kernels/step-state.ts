import { BufferUsage, MapMode } from '../gpu/constants.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Program } from '../gpu/program.ts';
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

/** Staging buffers for reading the step state back; steps in flight at once. */
const RING = 3;

export class StepState {
  readonly tensor: Tensor;
  private readonly data = new ArrayBuffer(STEP_SLOTS * 4);
  private readonly f32 = new Float32Array(this.data);
  private readonly u32 = new Uint32Array(this.data);
  private readonly ring: { buffer: GPUBuffer; pending: Promise<unknown> | null }[] = [];
  private next = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly gpu: Gpu) {
    this.tensor = tensorOf(gpu.createBuffer(STEP_SLOTS * 4, 'scratch', 'step-state'), [STEP_SLOTS]);
  }

  /**
   * A copy of the step state into a staging buffer, to be submitted with the step's last command
   * buffer, and the read that follows; no allocation and no extra submit per step.
   */
  async readback(): Promise<{ program: Program; read: () => Promise<Float32Array> }> {
    if (this.ring.length < RING) {
      const usage = BufferUsage.MAP_READ | BufferUsage.COPY_DST;
      this.ring.push({ buffer: this.gpu.createBuffer(STEP_SLOTS * 4, 'staging', 'step-state readback', usage), pending: null });
    }
    const slot = this.ring[this.next]!;
    this.next = (this.next + 1) % RING;
    if (slot.pending) await slot.pending;
    const program = new Program('readback');
    program.add({ kind: 'copy', src: this.tensor.buffer, srcOffset: 0, dst: slot.buffer, dstOffset: 0, size: STEP_SLOTS * 4 });
    const read = async () => {
      const mapped = slot.buffer.mapAsync(MapMode.READ);
      slot.pending = mapped.catch(() => undefined);
      await Promise.race([mapped, this.gpu.lost.then((e) => Promise.reject(e))]);
      const out = new Float32Array(slot.buffer.getMappedRange().slice(0));
      slot.buffer.unmap();
      slot.pending = null;
      this.gpu.checkErrors();
      return out;
    };
    return { program, read };
  }

  /** Runs `fn` after every earlier one: steps are submitted in the order they were asked for. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  destroy(): void {
    for (const s of this.ring) this.gpu.destroyBuffer(s.buffer);
    this.gpu.destroyBuffer(this.tensor.buffer);
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
