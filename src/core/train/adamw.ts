import type { Gpu } from '../gpu/gpu.ts';
import { Program } from '../gpu/program.ts';
import { tensorOf, type Tensor } from '../gpu/tensor.ts';
import { adamwUpdate, type AdamWHyper } from '../kernels/adamw.ts';
import { partialsFor, sumInto } from '../kernels/reduce.ts';
import { Slot, type StepState } from '../kernels/step-state.ts';
import { ParamStore } from '../model/param-store.ts';
import { scaledRanges } from './param-groups.ts';
import { updateRanges, type UpdateRange } from './trained-ranges.ts';

export const TORCH_ADAMW: AdamWHyper = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxNorm: 0 };

/**
 * torch.optim.AdamW over packed parameters: the global gradient norm (for clipping and metrics)
 * and one update dispatch per buffer range, recorded once. `t` counts completed steps.
 */
export class AdamW {
  readonly m: ParamStore;
  readonly v: ParamStore;
  /** The update; re-recorded when the trained set rotates (half fine-tuning). */
  program = new Program('adamw');
  /** Program that zeroes the gradients at the start of a step. */
  readonly zeroGrads = new Program('zero-grads');
  t = 0;
  private partials: Tensor | null = null;
  /** Update ranges; with frozen parameters (multiple 0) only the trained ones, each with its own moment slot. */
  private ranges: readonly (UpdateRange & { state: string | null })[];
  /** Some parameters are frozen: the clip norm covers the trained ranges only. */
  private partial: boolean;
  private zeroed = false;

  private constructor(
    private readonly gpu: Gpu,
    readonly params: ParamStore,
    readonly grads: ParamStore,
    readonly hyper: AdamWHyper,
    /** Parameters without weight decay (biases, norms) still use hyper.weightDecay when false. */
    readonly decayAll: boolean,
    /** A parameter's learning-rate multiple (LoRA+ groups; 0 freezes it); absent: 1 for every parameter. */
    readonly lrScale?: (name: string, shape: readonly number[]) => number,
    /** Moments for every parameter even when some are frozen (the frozen set rotates). */
    readonly fullState = false,
  ) {
    const all = scaledRanges(params, lrScale);
    const trained = updateRanges(params, grads, lrScale);
    this.partial = all.some((r) => r.lrScale === 0) || grads.count < params.count;
    if (!this.partial || fullState || grads.count < params.count) {
      // Moments mirror the gradients: every parameter's, or (frozen weights) the trained ones' only.
      this.m = grads.mirror('optimizer', 'adam-m');
      this.v = grads.mirror('optimizer', 'adam-v');
      this.ranges = trained.map((r) => ({ ...r, state: null }));
    } else {
      // Frozen parameters get no moments: Adam state is held for what trains only.
      const specs = trained.map((r, i) => ({ name: `range.${i}`, shape: [r.size], decay: r.decay }));
      this.m = ParamStore.create(gpu, specs, 'optimizer', 'adam-m');
      this.v = ParamStore.create(gpu, specs, 'optimizer', 'adam-v');
      this.ranges = trained.map((r, i) => ({ ...r, state: `range.${i}` }));
    }
  }

  /**
   * `decayAll`: apply weight decay to every parameter (what torch.optim.AdamW does when given a
   * plain parameter list, as for LoRA); otherwise biases and norm weights are exempt (HF Trainer).
   */
  static async create(
    gpu: Gpu, params: ParamStore, grads: ParamStore, hyper: AdamWHyper, step: StepState, decayAll: boolean,
    lrScale?: (name: string, shape: readonly number[]) => number, fullState = false,
  ): Promise<AdamW> {
    const opt = new AdamW(gpu, params, grads, hyper, decayAll, lrScale, fullState);
    await opt.record(step);
    return opt;
  }

  private async record(step: StepState): Promise<void> {
    const { gpu, params, grads } = this;
    const lengths = grads.lengths;
    // The clipping norm covers trained parameters only (frozen ones have no gradient in torch).
    const normRanges = this.partial
      ? this.ranges.map((r) => ({ x: { ...grads.whole(r.grad.buffer), offset: r.grad.offset }, n: r.size }))
      : lengths.map((n, i) => ({ x: grads.whole(i), n }));
    const partialCount = partialsFor(normRanges.map((r) => r.n));
    if (this.partials) gpu.destroyBuffer(this.partials.buffer);
    this.partials = tensorOf(gpu.createBuffer(partialCount * 4, 'optimizer', 'grad-norm-partials'), [partialCount]);
    await sumInto(gpu, this.program, normRanges, this.partials, step.tensor, Slot.gradNormSq, { square: true });
    for (const r of this.ranges) {
      const at = (s: ParamStore, loc: { buffer: number; offset: number }) => ({ ...s.whole(loc.buffer), offset: loc.offset });
      const state = (s: ParamStore) => (r.state ? s.get(r.state) : at(s, r.grad));
      const hyper = { ...this.hyper, weightDecay: r.decay || this.decayAll ? this.hyper.weightDecay : 0 };
      await adamwUpdate(gpu, this.program, hyper, r.size, at(params, r), at(grads, r.grad), state(this.m), state(this.v), step.tensor, r.lrScale);
    }
    if (this.zeroed) return;
    this.zeroed = true;
    grads.buffers.forEach((b, i) => this.zeroGrads.add({ kind: 'clear', buffer: b, offset: 0, size: Math.ceil((lengths[i]! * 4) / 4) * 4 }));
  }

  /**
   * Changes which parameters train (half fine-tuning's rounds): the next steps update only those
   * with a multiple above 0; every moment is kept, so a parameter resumes where it left off.
   */
  async regroup(step: StepState, lrScale: (name: string, shape: readonly number[]) => number): Promise<void> {
    if (!this.fullState) throw new Error('regrouping needs an optimizer made with moments for every parameter');
    const all = scaledRanges(this.params, lrScale);
    this.ranges = updateRanges(this.params, this.grads, lrScale).map((r) => ({ ...r, state: null }));
    this.partial = all.some((r) => r.lrScale === 0);
    this.program = new Program('adamw');
    await this.record(step);
  }

  /** Bias corrections of the next step (t + 1). */
  nextCorrections(): { biasCorrection1: number; biasCorrection2: number } {
    const t = this.t + 1;
    return { biasCorrection1: 1 - this.hyper.beta1 ** t, biasCorrection2: 1 - this.hyper.beta2 ** t };
  }

  destroy(): void {
    this.m.destroy();
    this.v.destroy();
    if (this.partials) this.gpu.destroyBuffer(this.partials.buffer);
  }
}
