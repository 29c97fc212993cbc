import type { Program } from '../gpu/program.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { dropout } from '../kernels/dropout.ts';
import type { StepState } from '../kernels/step-state.ts';
import { mat, type Mat } from './linear.ts';
import type { LoraModule, Site } from './lora.ts';

/** What the backward needs of the model (transformer.ts passes itself). */
export interface DoraHost {
  readonly gpu: Gpu;
  readonly lora: LoraAdapter | null;
  readonly grads: ParamStore | null;
  lin(l: number, site: Site): LinearWeight;
  loraInput(p: Program, T: number, m: LoraModule, x: Mat, step: StepState | null, scratch: Tensor | null): Promise<Mat>;
}
import type { Gpu } from '../gpu/gpu.ts';
import type { LoraAdapter } from './lora.ts';
import type { LinearWeight } from './linear.ts';
import type { ParamStore } from './param-store.ts';

export interface DoraBackwardArgs {
  readonly l: number;
  readonly site: Site;
  readonly T: number;
  readonly m: LoraModule;
  /** The site's input and the gradients of its output and input. */
  readonly x: Mat;
  readonly dy: Mat;
  readonly dx: Mat;
  /** x Aᵀ saved by the forward. */
  readonly t: Tensor;
  /** The layer's gradient scratch: [T, r] for dt, and the dropout buffer. */
  readonly g: { readonly loraDt: Tensor; readonly dropped: Tensor };
  readonly step: StepState | null;
  readonly trainsLora: boolean;
}

/**
 * A DoRA module's backward inside a layer: the dropout mask is redrawn from the step seed, the
 * DoRA term's input gradient goes through dropout's backward onto dx (or straight onto dx).
 */
export async function doraBackward(model: DoraHost, p: Program, o: DoraBackwardArgs): Promise<void> {
  const lora = model.lora!;
  const { T, m, step } = o;
  const drop = lora.settings.dropout > 0 && step !== null;
  const xin = await model.loraInput(p, T, m, o.x, step, o.g.dropped);
  if (drop && o.dx.ld !== m.in) throw new Error('LoRA dropout needs a dense input gradient');
  const target = drop ? mat(o.g.dropped, m.in) : o.dx;
  const grads = o.trainsLora ? { a: model.grads!.get(m.a), b: model.grads!.get(m.b), magnitude: model.grads!.get(m.magnitude!) } : null;
  await lora.dora!.backward(p, T, m, lora.doraWeights(m, model.lin(o.l, o.site)), xin, o.dy, o.t, o.g.loraDt, target, !drop, grads);
  if (drop) await dropout(model.gpu, p, o.g.dropped, o.dx.t, T * m.in, lora.settings.dropout, m.stream, step!.tensor, true);
}
