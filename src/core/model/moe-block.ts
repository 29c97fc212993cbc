/**
 * The sparse mixture-of-experts MLP on the GPU (Mixtral, Qwen2-MoE, OLMoE), hooked into
 * transformer.ts after the second norm. By default the routed experts run sparse (moe-sparse.ts):
 * each on the tokens that chose it. The dense-masked reference path (setExpertPath 'dense'; also
 * the shared expert, which sees every token) runs every expert on every token and scales its output
 * by its combine weight, 0 for the experts a token did not choose: the same result at E/k times the
 * MLP FLOPs. Each expert's up projection and SwiGLU are recomputed in the backward, so only the
 * routing (and the sparse path's dispatch table) is kept per layer (no E-fold activations).
 */
import type { Program } from '../gpu/program.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { tensorOf, type Tensor } from '../gpu/tensor.ts';
import { swigluBackward, swigluForward } from '../kernels/activation.ts';
import {
  moeAuxLoss, moeCombineBackward, moeCombineScale, moeRoute, moeRouteBackward, moeRouteStats, moeStatsSize, type AuxTokens, type RouteShape,
  type Routing,
} from '../kernels/moe.ts';
import type { StepState } from '../kernels/step-state.ts';
import { linearBackwardInput, linearBackwardParams, linearForward, mat } from './linear.ts';
import { expertCount, expertInner, expertStem, routerParam, routerRows, type MoeConfig } from './moe-config.ts';
import type { Dims, ModelConfig } from './arch/types.ts';
import { expertLoraBackward, expertLoraForward, expertSite, type ExpertLoraHost } from './moe-lora.ts';
import { runsSparse, sparseDispatch, sparseExpertBackward, sparseExpertForward } from './moe-sparse.ts';
import { dispatchSize } from '../kernels/moe-gather.ts';

/** What the MoE block needs of the model (transformer.ts passes itself). */
export interface MoeHost extends ExpertLoraHost {
  readonly cfg: ModelConfig;
  readonly d: Dims;
  readonly moeStats: Tensor | null;
  w(name: string): Tensor;
}

/** The layer activations it reads and reuses as scratch (layer-buffers.ts LayerActs). */
interface LayerActs {
  readonly h2: Tensor;
  readonly xm: Tensor;
  readonly up: Tensor;
  readonly act: Tensor;
  readonly loraT: readonly Tensor[];
  readonly moe?: MoeActs;
}

interface GradScratch {
  readonly dres: Tensor;
  readonly dh: Tensor;
  readonly dup: Tensor;
  readonly dact: Tensor;
  readonly loraDt: Tensor;
  readonly dropped: Tensor;
}

interface TokenInputs {
  readonly targets: Tensor;
  readonly real?: Tensor;
}

/** The aux loss leaves padding out, as transformers does with the attention mask. */
function auxTokens(inputs: TokenInputs): AuxTokens {
  if (!inputs.real) throw new Error('the MoE aux loss needs the padding mask of a training plan');
  return { targets: inputs.targets, real: inputs.real };
}

/** What one layer keeps of its MoE forward, plus the router's gradient scratch. */
export interface MoeActs extends Routing {
  /** Each expert's SwiGLU output times its combine weight (the down projection's input) [T, max inner]. */
  readonly scaled: Tensor;
  readonly dcomb: Tensor;
  readonly dlogits: Tensor;
  /** The sparse path's per-expert token lists (kernels/moe-gather.ts). */
  readonly dispatch: Tensor;
}

export function allocMoeActs(m: MoeConfig, T: number, alloc: (elements: number, label: string) => Tensor): MoeActs {
  const R = routerRows(m);
  return {
    logits: alloc(T * R, 'moe-logits'), probs: alloc(T * m.experts, 'moe-probs'), comb: alloc(T * R, 'moe-comb'), sel: alloc(T * m.experts, 'moe-sel'),
    scaled: alloc(T * Math.max(m.expertInner, m.sharedInner), 'moe-scaled'), dcomb: alloc(T * R, 'moe-dcomb'), dlogits: alloc(T * R, 'moe-dlogits'),
    dispatch: alloc(dispatchSize(T, m.experts, m.topK), 'moe-dispatch'),
  };
}

/** Per-layer choice counts and probability sums of the last forward, and the aux loss (moe_aux.wgsl). */
export function allocMoeStats(gpu: Gpu, layers: number, m: MoeConfig): Tensor {
  const n = moeStatsSize(layers, m.experts);
  return tensorOf(gpu.createBuffer(n * 4, 'scratch', 'moe-stats'), [n]);
}

const routeShape = (m: MoeConfig, T: number): RouteShape => ({ T, E: m.experts, K: m.topK, norm: m.normTopK, shared: m.sharedInner > 0 });

function moeOf(model: MoeHost, a: LayerActs): { m: MoeConfig; acts: MoeActs; stats: Tensor } {
  if (!model.cfg.moe || !a.moe || !model.moeStats) throw new Error('not a mixture-of-experts layer');
  return { m: model.cfg.moe, acts: a.moe, stats: model.moeStats };
}

/** xOut = xm + Σ_e comb_e · expert_e(h2) (+ the shared expert). a.h2 holds ln2(xm). */
export async function moeForward(
  model: MoeHost, p: Program, l: number, T: number, a: LayerActs, inputs: TokenInputs, xOut: Tensor, step: StepState | null,
  dropScratch: Tensor | null,
): Promise<void> {
  const { gpu, d } = model;
  const { m, acts, stats } = moeOf(model, a);
  const H = d.H;
  const R = routerRows(m);
  await linearForward(gpu, p, T, mat(a.h2, H), model.w(routerParam(l)), R, H, mat(acts.logits, R));
  await moeRoute(gpu, p, routeShape(m, T), acts);
  if (step) await moeRouteStats(gpu, p, routeShape(m, T), model.cfg.layers, l, acts, auxTokens(inputs), stats, step.tensor);
  p.add({ kind: 'copy', src: a.xm.buffer, srcOffset: a.xm.offset * 4, dst: xOut.buffer, dstOffset: xOut.offset * 4, size: T * H * 4 });
  const sparse = runsSparse(model);
  if (sparse) await sparseDispatch(model, p, T, acts);
  for (let e = 0; e < expertCount(m); e++) {
    if (sparse && e < m.experts) {
      await sparseExpertForward(model, p, T, l, e, a, acts, xOut);
      continue;
    }
    const I = expertInner(m, e);
    await expertHidden(model, p, l, e, T, a, step, dropScratch);
    await linearForward(gpu, p, T, mat(acts.scaled, I), model.w(`${expertStem(l, e, m)}.down.weight`), H, I, mat(xOut, H), { accumulate: true });
    await expertLoraForward(model, p, l, expertSite(model.cfg, e, 'down'), T, mat(acts.scaled, I), mat(xOut, H), a.loraT, step, dropScratch);
  }
}

/** a.up = h2·W_upᵀ (gate|up) with its LoRA, a.act = SwiGLU, scaled = comb_e · act. */
async function expertHidden(
  model: MoeHost, p: Program, l: number, e: number, T: number, a: LayerActs, step: StepState | null, scratch: Tensor | null,
): Promise<void> {
  const { gpu, d } = model;
  const { m, acts } = moeOf(model, a);
  const I = expertInner(m, e);
  await linearForward(gpu, p, T, mat(a.h2, d.H), model.w(`${expertStem(l, e, m)}.up.weight`), 2 * I, d.H, mat(a.up, 2 * I));
  await expertLoraForward(model, p, l, expertSite(model.cfg, e, 'up'), T, mat(a.h2, d.H), mat(a.up, 2 * I), a.loraT, step, scratch);
  await swigluForward(gpu, p, a.up, a.act, T, I);
  await moeCombineScale(gpu, p, T, I, routerRows(m), e, acts.comb, a.act, acts.scaled);
}

/** The aux loss of the whole forward, once every layer has routed (training plans). */
export async function moeAuxForward(model: MoeHost, p: Program, T: number, a: LayerActs, inputs: TokenInputs, step: StepState): Promise<void> {
  const { gpu, cfg } = model;
  const { m, acts, stats } = moeOf(model, a);
  await moeAuxLoss(gpu, p, routeShape(m, T), cfg.layers, m.auxCoef, acts, auxTokens(inputs), stats, step.tensor);
}

/** g.dres holds d(xOut) (= d(xm) through the residual); leaves d(h2) in g.dh. */
export async function moeBackward(
  model: MoeHost, p: Program, l: number, T: number, a: LayerActs, g: GradScratch, inputs: TokenInputs, step: StepState | null,
): Promise<void> {
  const { gpu, d, cfg } = model;
  const { m, acts, stats } = moeOf(model, a);
  if (!step) throw new Error('the MoE backward needs the step state');
  const H = d.H;
  const R = routerRows(m);
  const dres = mat(g.dres, H);
  const grad = (name: string) => (model.trainsFull ? model.grads!.get(name) : undefined);
  const sparse = runsSparse(model);
  if (sparse) {
    // The sparse experts scatter-add d(h2) by token, so it starts at 0.
    p.add({ kind: 'clear', buffer: g.dh.buffer, offset: g.dh.offset * 4, size: T * H * 4 });
    await sparseDispatch(model, p, T, acts);
  }
  for (let e = 0; e < expertCount(m); e++) {
    if (sparse && e < m.experts) {
      await sparseExpertBackward(model, p, T, l, e, a, acts, g);
      continue;
    }
    const I = expertInner(m, e);
    const stem = expertStem(l, e, m);
    const up = expertSite(cfg, e, 'up');
    const down = expertSite(cfg, e, 'down');
    await expertHidden(model, p, l, e, T, a, step, g.dropped);
    await expertLoraForward(model, p, l, down, T, mat(acts.scaled, I), null, a.loraT, step, g.dropped);
    await linearBackwardInput(gpu, p, T, dres, model.w(`${stem}.down.weight`), H, I, mat(g.dact, I), false);
    const dDown = grad(`${stem}.down.weight`);
    if (dDown) await linearBackwardParams(gpu, p, T, dres, mat(acts.scaled, I), H, I, dDown);
    await expertLoraBackward(model, p, l, down, T, mat(acts.scaled, I), dres, mat(g.dact, I), a.loraT, g, step);
    await moeCombineBackward(gpu, p, T, I, R, e, acts.comb, a.act, g.dact, acts.dcomb);
    await swigluBackward(gpu, p, a.up, g.dact, g.dup, T, I);
    await linearBackwardInput(gpu, p, T, mat(g.dup, 2 * I), model.w(`${stem}.up.weight`), 2 * I, H, mat(g.dh, H), sparse || e > 0);
    const dUp = grad(`${stem}.up.weight`);
    if (dUp) await linearBackwardParams(gpu, p, T, mat(g.dup, 2 * I), mat(a.h2, H), 2 * I, H, dUp);
    await expertLoraBackward(model, p, l, up, T, mat(a.h2, H), mat(g.dup, 2 * I), mat(g.dh, H), a.loraT, g, step);
  }
  const { real } = auxTokens(inputs);
  await moeRouteBackward(gpu, p, routeShape(m, T), cfg.layers, m.auxCoef, acts, acts.dcomb, stats, step.tensor, acts.dlogits, real);
  await linearBackwardInput(gpu, p, T, mat(acts.dlogits, R), model.w(routerParam(l)), R, H, mat(g.dh, H), true);
  const dRouter = grad(routerParam(l));
  if (dRouter) await linearBackwardParams(gpu, p, T, mat(acts.dlogits, R), mat(a.h2, H), R, H, dRouter);
}
