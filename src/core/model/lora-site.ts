import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { dropout } from '../kernels/dropout.ts';
import { matmul } from '../kernels/matmul.ts';
import type { StepState } from '../kernels/step-state.ts';
import { linearBackwardParams, linearForward, mat, type LinearWeight, type Mat } from './linear.ts';
import type { LoraAdapter, LoraModule, Site } from './lora.ts';
import { doraBackward } from './dora-layer.ts';
import type { ParamStore } from './param-store.ts';
import type { AdapterGate } from './adapter-gate.ts';
import type { GradScratch, LayerActs } from './layer-buffers.ts';

/**
 * LoRA (and DoRA) at one linear site, unfused: its own matmuls accumulate onto the base output
 * (lora-fused.ts takes this path when it cannot fuse).
 */

/** What a LoRA site needs of the model (transformer.ts passes itself). */
export interface LoraSiteHost {
  readonly gpu: Gpu;
  readonly lora: LoraAdapter | null;
  readonly grads: ParamStore | null;
  readonly trainsFull: boolean;
  readonly gate: AdapterGate | null;
  lin(l: number, site: Site): LinearWeight;
  loraModules(l: number, site: Site): LoraModule[];
  loraInput(p: Program, T: number, m: LoraModule, x: Mat, step: StepState | null, scratch: Tensor | null): Promise<Mat>;
}

/** dropout(x) into `scratch` when the adapter has dropout and this is a training plan; else x. */
export async function loraInput(
  model: LoraSiteHost, p: Program, T: number, m: LoraModule, x: Mat, step: StepState | null, scratch: Tensor | null,
): Promise<Mat> {
  const drop = model.lora!.settings.dropout;
  if (drop === 0 || !step || !scratch) return x;
  if (x.ld !== m.in || x.norm) throw new Error('LoRA dropout needs a dense, stored input');
  await dropout(model.gpu, p, x.t, scratch, T * m.in, drop, m.stream, step.tensor);
  return mat(scratch, m.in);
}

/** y[:, cols] += s · (dropout(x) Aᵀ) Bᵀ for every LoRA module at this site; saves x Aᵀ. */
export async function loraForward(
  model: LoraSiteHost, p: Program, l: number, site: Site, T: number, x: Mat, y: Mat, acts: LayerActs, step: StepState | null,
  scratch: Tensor | null,
): Promise<void> {
  const r = model.lora?.settings.r ?? 0;
  for (const m of model.loraModules(l, site)) {
    const xin = await model.loraInput(p, T, m, x, step, scratch);
    const t = acts.loraT[m.slot]!;
    if (m.magnitude) {
      await model.lora!.dora!.forward(p, T, m, model.lora!.doraWeights(m, model.lin(l, site)), xin, y, t);
      continue;
    }
    await linearForward(model.gpu, p, T, xin, model.lora!.store.get(m.a), r, m.in, mat(t, r));
    const tb = model.gate && acts.gate ? await model.gate.scale(p, T, t, acts.gate) : t;
    await linearForward(model.gpu, p, T, mat(tb, r), model.lora!.store.get(m.b), m.out, r, mat(y.t, y.ld, m.col), {
      accumulate: true,
      alpha: model.lora!.scaling,
    });
  }
}

/** dB += s·dyᵀt; dt = s·dy B; dA += dtᵀ·dropout(x); dx += dropout'(dt A). */
export async function loraBackward(
  model: LoraSiteHost, p: Program, l: number, site: Site, T: number, x: Mat, dy: Mat, dx: Mat, acts: LayerActs, g: GradScratch, step: StepState | null,
): Promise<void> {
  if (!model.lora) return;
  const r = model.lora.settings.r;
  const s = model.lora.scaling;
  const drop = model.lora.settings.dropout;
  const trainsLora = !model.trainsFull && model.grads !== null;
  for (const m of model.loraModules(l, site)) {
    const t = acts.loraT[m.slot]!;
    if (m.magnitude) {
      await doraBackward(model, p, { l, site, T, m, x, dy, dx, t, g, step, trainsLora });
      continue;
    }
    const dyc = mat(dy.t, dy.ld, m.col);
    if (trainsLora) await linearBackwardParams(model.gpu, p, T, dyc, mat(t, r), m.out, r, model.grads!.get(m.b), undefined, s);
    await matmul(model.gpu, p, { a: dyc.t, lda: dyc.ld, b: model.lora.store.get(m.b), c: g.loraDt, M: T, N: r, K: m.out, alpha: s });
    if (model.gate && acts.gate) await model.gate.blocksBackward(p, T, t, g.loraDt, acts.gate);
    if (trainsLora) {
      const xin = await model.loraInput(p, T, m, x, step, g.dropped);
      await linearBackwardParams(model.gpu, p, T, mat(g.loraDt, r), xin, r, m.in, model.grads!.get(m.a));
    }
    const A = model.lora.store.get(m.a);
    if (drop > 0 && step) {
      await matmul(model.gpu, p, { a: g.loraDt, b: A, c: g.dropped, M: T, N: m.in, K: r });
      if (dx.ld !== m.in) throw new Error('LoRA dropout needs a dense input gradient');
      await dropout(model.gpu, p, g.dropped, dx.t, T * m.in, drop, m.stream, step.tensor, true);
    } else {
      await matmul(model.gpu, p, { a: g.loraDt, b: A, c: dx.t, ldc: dx.ld, M: T, N: m.in, K: r, beta: 1 });
    }
  }
}
