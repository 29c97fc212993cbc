import type { Program } from '../gpu/program.ts';
import { viewOf, type Tensor } from '../gpu/tensor.ts';
import { matmul } from '../kernels/matmul.ts';
import type { ActivationEpilogue } from '../kernels/matmul-epilogue.ts';
import type { LowRankEpilogue } from '../kernels/matmul-lowrank.ts';
import type { StepState } from '../kernels/step-state.ts';
import { linearBackwardInput, linearBackwardParams, linearForward, mat, type LinearWeight, type Mat } from './linear.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { LoraAdapter, LoraModule, Site } from './lora.ts';
import type { ParamStore } from './param-store.ts';

/**
 * LoRA fused with its base matmul. Forward: t = dropout(x)·Aᵀ once per module, then one matmul
 * y = x·Wᵀ (+ b) + s·Σ t·Bᵀ, the LoRA products added in the base kernel's epilogue instead of a
 * matmul per module accumulating onto y. Backward: dB, dt = s·dy·B and dA per module, then one
 * matmul dx = dy·W + Σ dt·A. The MLP's activation can ride on the same final matmul (matmul_act.wgsl).
 * `gpu.tuning.fuse` forces either path; unset, hardware adapters fuse and software ones do not (on
 * lavapipe the scalar epilogue measured 10-25% slower per step than the separate vec4 matmuls).
 */

/** Whether the fused epilogues are used on this device. */
export const fuses = (gpu: Gpu): boolean => gpu.tuning.fuse ?? !gpu.adapter.software;

/** The saved activations and gradient scratch this file reads (layer-buffers.ts's LayerActs and GradScratch). */
interface Acts {
  /** x·Aᵀ per module of the layer, by slot. */
  readonly loraT: readonly Tensor[];
}
interface Scratch {
  readonly loraDt: Tensor;
}

/** What the fused path needs of the model (transformer.ts passes itself); the unfused path is its own. */
export interface FusedLoraHost<A extends Acts, G extends Scratch> {
  readonly gpu: Gpu;
  readonly lora: LoraAdapter | null;
  readonly grads: ParamStore | null;
  readonly trainsFull: boolean;
  /** A learned adapter gate scales each adapter's x·A; the fused epilogue has no such scale. */
  readonly gate: unknown;
  lin(l: number, site: Site): LinearWeight;
  loraModules(l: number, site: Site): LoraModule[];
  loraInput(p: Program, T: number, m: LoraModule, x: Mat, step: StepState | null, scratch: Tensor | null): Promise<Mat>;
  loraForward(p: Program, l: number, site: Site, T: number, x: Mat, y: Mat, acts: A, step: StepState | null, scratch: Tensor | null): Promise<void>;
  loraBackward(p: Program, l: number, site: Site, T: number, x: Mat, dy: Mat, dx: Mat, acts: A, g: G, step: StepState | null): Promise<void>;
}

/** A linear site's shape: x [T, inF] → y [T, out]. */
export interface SiteShape {
  readonly out: number;
  readonly inF: number;
}

const epilogueReady = (w: LinearWeight): boolean => 'buffer' in w || 'h' in w;

/**
 * How a site's final matmul runs: `modules` (possibly none) ride on it as epilogues, or null when
 * the unfused path is needed (the switch off, DoRA, an int8/NF4 base, operands in several buffers).
 */
function fusedModules(model: FusedLoraHost<Acts, Scratch>, l: number, site: Site, w: LinearWeight, us: readonly Tensor[]): LoraModule[] | null {
  const modules = model.loraModules(l, site);
  if (!fuses(model.gpu) || modules.length > 4 || !epilogueReady(w)) return null;
  if (model.gate || modules.some((m) => m.magnitude)) return null;
  const bs = modules.map((m) => model.lora!.store.get(m.b).buffer);
  const as = modules.map((m) => model.lora!.store.get(m.a).buffer);
  const one = (xs: readonly GPUBuffer[]) => xs.every((b) => b === xs[0]);
  return one(bs) && one(as) && one(modules.map((m) => us[m.slot]!.buffer)) ? modules : null;
}

/** y (+)= x·Wᵀ (+ b) + the site's LoRA; with `activation`, also act(y) when fusable. Returns whether the activation ran. */
export async function siteForward<A extends Acts>(
  model: FusedLoraHost<A, Scratch>, p: Program, l: number, site: Site, T: number, x: Mat, y: Mat, shape: SiteShape,
  o: { bias?: Tensor; accumulate?: boolean; activation?: ActivationEpilogue }, acts: A, step: StepState | null, scratch: Tensor | null,
): Promise<boolean> {
  const w = model.lin(l, site);
  const modules = fusedModules(model, l, site, w, acts.loraT);
  const base = { bias: o.bias, accumulate: o.accumulate };
  if (!modules) {
    await linearForward(model.gpu, p, T, x, w, shape.out, shape.inF, y, base);
    await model.loraForward(p, l, site, T, x, y, acts, step, scratch);
    return false;
  }
  const lora = model.lora;
  const r = lora?.settings.r ?? 0;
  for (const m of modules) {
    const xin = await model.loraInput(p, T, m, x, step, scratch);
    await linearForward(model.gpu, p, T, xin, lora!.store.get(m.a), r, m.in, mat(acts.loraT[m.slot]!, r));
  }
  const lowRank: LowRankEpilogue | undefined = modules.length === 0 ? undefined : {
    r, scale: lora!.scaling,
    terms: modules.map((m) => ({ col: m.col, cols: m.out, u: acts.loraT[m.slot]!, ldu: r, v: lora!.store.get(m.b), sVn: r, sVk: 1 })),
  };
  await linearForward(model.gpu, p, T, x, w, shape.out, shape.inF, y, { ...base, epilogue: { lowRank, activation: o.activation } });
  return o.activation !== undefined;
}

/** Per-module slices of the gradient scratch's dt, when it holds one per module of a layer. */
function dtSlices(g: Scratch, T: number, r: number, modules: readonly LoraModule[]): Tensor[] | null {
  if (modules.length === 0) return [];
  const need = (Math.max(...modules.map((m) => m.slot)) + 1) * T * r;
  if (g.loraDt.shape.reduce((a, b) => a * b, 1) < need) return null;
  return modules.map((m) => viewOf(g.loraDt, [T, r], m.slot * T * r));
}

/**
 * dx (+)= dy·W + the site's LoRA input gradient, and the LoRA parameter gradients when the adapter
 * trains. x is the site's input as the forward saw it (for dA). With `activation`, the final matmul
 * instead writes the activation's input gradient into activation.dx when fusable; returns whether it did.
 */
export async function siteBackward<A extends Acts, G extends Scratch>(
  model: FusedLoraHost<A, G>, p: Program, l: number, site: Site, T: number, x: Mat, dy: Mat, dx: Mat, shape: SiteShape,
  accumulate: boolean, acts: A, g: G, step: StepState | null, activation?: { readonly epilogue: ActivationEpilogue; readonly dx: Mat },
): Promise<boolean> {
  const w = model.lin(l, site);
  const lora = model.lora;
  const dropped = lora !== null && lora.settings.dropout > 0 && step !== null && model.loraModules(l, site).length > 0;
  const modules = dropped ? null : fusedModules(model, l, site, w, acts.loraT);
  const r = lora?.settings.r ?? 0;
  const dts = modules && dtSlices(g, T, r, modules);
  if (!modules || !dts || modules.some((m) => m.in !== shape.inF)) {
    await linearBackwardInput(model.gpu, p, T, dy, w, shape.out, shape.inF, dx, accumulate);
    await model.loraBackward(p, l, site, T, x, dy, dx, acts, g, step);
    return false;
  }
  const s = lora?.scaling ?? 0;
  const trains = !model.trainsFull && model.grads !== null;
  for (const [i, m] of modules.entries()) {
    const dyc = mat(dy.t, dy.ld, m.col);
    const t = mat(acts.loraT[m.slot]!, r);
    if (trains) await linearBackwardParams(model.gpu, p, T, dyc, t, m.out, r, model.grads!.get(m.b), undefined, s);
    await matmul(model.gpu, p, { a: dyc.t, lda: dyc.ld, b: lora!.store.get(m.b), c: dts[i]!, M: T, N: r, K: m.out, alpha: s });
    if (trains) await linearBackwardParams(model.gpu, p, T, mat(dts[i]!, r), x, r, m.in, model.grads!.get(m.a));
  }
  const lowRank: LowRankEpilogue | undefined = modules.length === 0 ? undefined : {
    r, scale: 1,
    terms: modules.map((m, i) => ({ col: 0, cols: m.in, u: dts[i]!, ldu: r, v: lora!.store.get(m.a), sVn: 1, sVk: m.in })),
  };
  if (activation && accumulate) throw new Error('an activation epilogue cannot accumulate into its output');
  const target = activation?.dx ?? dx;
  await linearBackwardInput(model.gpu, p, T, dy, w, shape.out, shape.inF, target, accumulate, { lowRank, activation: activation?.epilogue });
  return activation !== undefined;
}
