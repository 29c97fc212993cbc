/**
 * The sparse (gathered) expert path of a mixture-of-experts layer: after routing, each routed
 * expert's matmuls run only on the tokens that chose it (kernels/moe-gather.ts), gathered from h2
 * by the dispatch table, and its output is scatter-added onto xOut by token, expert after expert
 * (race-free, no atomics; the same summation order as the dense path). LoRA on the experts runs
 * on the same segments. The backward recomputes each expert's hidden activations, as the dense
 * path does, so only the routing and the dispatch table are kept per layer.
 * Per-expert scratch (a.up, a.act, scaled, loraT, g.dact, g.dup, loraDt) is [T, ·] as in the dense
 * path: an expert is chosen by at most T tokens.
 */
import type { Program } from '../gpu/program.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { swigluBackward, swigluForward } from '../kernels/activation.ts';
import { moeDispatch, segMatmul, segScale, segScaleBackward, segWeightGrad, type SegOperand, type Segments } from '../kernels/moe-gather.ts';
import type { Dims, ModelConfig } from './arch/types.ts';
import { expertInner, expertStem, routerRows, type MoeConfig } from './moe-config.ts';
import { expertSite, type ExpertLoraHost } from './moe-lora.ts';

export type ExpertPath = 'sparse' | 'dense';

const chosenPath = new WeakMap<object, ExpertPath>();

/** Chooses how a model's routed experts run: sparse (default) or dense-masked (the reference path). */
export function setExpertPath(model: object, path: ExpertPath): void {
  chosenPath.set(model, path);
}

/**
 * Whether the routed experts run sparse. LoRA dropout draws its mask over all T rows of an
 * expert's input, which only the dense path has, so an adapter with dropout runs dense.
 */
export function runsSparse(model: ExpertLoraHost): boolean {
  if ((chosenPath.get(model) ?? 'sparse') === 'dense') return false;
  return !(model.lora && model.lora.settings.dropout > 0);
}

export interface SparseHost extends ExpertLoraHost {
  readonly cfg: ModelConfig;
  readonly d: Dims;
  w(name: string): Tensor;
}

/** The layer activations the sparse path reads or reuses as per-expert scratch. */
interface Acts {
  readonly h2: Tensor;
  readonly up: Tensor;
  readonly act: Tensor;
  readonly loraT: readonly Tensor[];
}

interface Scratch {
  readonly dres: Tensor;
  readonly dh: Tensor;
  readonly dup: Tensor;
  readonly dact: Tensor;
  readonly loraDt: Tensor;
}

/** The routing tensors of the layer (moe-block.ts MoeActs). */
interface Routing {
  readonly sel: Tensor;
  readonly comb: Tensor;
  readonly scaled: Tensor;
  readonly dcomb: Tensor;
  readonly dispatch: Tensor;
}

export const segmentsOf = (m: MoeConfig, T: number, table: Tensor): Segments => ({ T, E: m.experts, K: m.topK, R: routerRows(m), table });

const local = (t: Tensor, ld: number, col = 0): SegOperand => ({ t: { ...t, offset: t.offset + col }, ld });
const byToken = (t: Tensor, ld: number, col = 0): SegOperand => ({ ...local(t, ld, col), byToken: true });

/** Lists each expert's tokens; run once per layer forward (and again before its backward). */
export function sparseDispatch(host: SparseHost, p: Program, T: number, r: Routing): Promise<void> {
  return moeDispatch(host.gpu, p, segmentsOf(host.cfg.moe!, T, r.dispatch), r.sel, r.comb);
}

/** a.up (+LoRA), a.act, scaled = w · act on expert e's rows. */
async function hidden(host: SparseHost, p: Program, s: Segments, l: number, e: number, a: Acts, r: Routing): Promise<void> {
  const { gpu, d } = host;
  const I = expertInner(host.cfg.moe!, e);
  const W = host.w(`${expertStem(l, e, host.cfg.moe!)}.up.weight`);
  await segMatmul(gpu, p, s, e, { N: 2 * I, K: d.H, transB: true }, { a: byToken(a.h2, d.H), b: local(W, d.H), c: local(a.up, 2 * I) });
  await loraForward(host, p, s, l, e, 'up', byToken(a.h2, d.H), local(a.up, 2 * I), a.loraT);
  await swigluForward(gpu, p, a.up, a.act, s.T, I);
  await segScale(gpu, p, s, e, I, a.act, r.scaled);
}

/** xOut[token] += expert e's output for its tokens, after sparseDispatch. */
export async function sparseExpertForward(
  host: SparseHost, p: Program, T: number, l: number, e: number, a: Acts, r: Routing, xOut: Tensor,
): Promise<void> {
  const { gpu, d } = host;
  const s = segmentsOf(host.cfg.moe!, T, r.dispatch);
  const I = expertInner(host.cfg.moe!, e);
  await hidden(host, p, s, l, e, a, r);
  const W = host.w(`${expertStem(l, e, host.cfg.moe!)}.down.weight`);
  const dims = { N: d.H, K: I, transB: true };
  await segMatmul(gpu, p, s, e, dims, { a: local(r.scaled, I), b: local(W, I), c: byToken(xOut, d.H), beta: 1 });
  await loraForward(host, p, s, l, e, 'down', local(r.scaled, I), byToken(xOut, d.H), a.loraT);
}

/** y += s · (x Aᵀ) Bᵀ on expert e's rows for each LoRA module at the site; t[slot] = x Aᵀ. */
async function loraForward(
  host: SparseHost, p: Program, s: Segments, l: number, e: number, proj: 'up' | 'down', x: SegOperand, y: SegOperand | null,
  loraT: readonly Tensor[],
): Promise<void> {
  const lora = host.lora;
  if (!lora) return;
  const r = lora.settings.r;
  for (const m of host.loraModules(l, expertSite(host.cfg, e, proj))) {
    const t = local(loraT[m.slot]!, r);
    await segMatmul(host.gpu, p, s, e, { N: r, K: m.in, transB: true }, { a: x, b: local(lora.store.get(m.a), m.in), c: t });
    if (!y) continue;
    const out = { ...y, t: { ...y.t, offset: y.t.offset + m.col } };
    await segMatmul(host.gpu, p, s, e, { N: m.out, K: r, transB: true }, { a: t, b: local(lora.store.get(m.b), r), c: out, beta: 1, alpha: lora.scaling });
  }
}

/**
 * Expert e's backward on its rows: g.dres holds d(xOut) by token; adds d(h2) into g.dh by token
 * (cleared by the caller), d(comb) into r.dcomb, and the expert's weight or LoRA gradients.
 */
export async function sparseExpertBackward(
  host: SparseHost, p: Program, T: number, l: number, e: number, a: Acts, r: Routing, g: Scratch,
): Promise<void> {
  const { gpu, d, cfg } = host;
  const s = segmentsOf(cfg.moe!, T, r.dispatch);
  const H = d.H;
  const I = expertInner(cfg.moe!, e);
  const stem = expertStem(l, e, cfg.moe!);
  const grad = (name: string) => (host.trainsFull ? host.grads!.get(name) : undefined);
  await hidden(host, p, s, l, e, a, r);
  await loraForward(host, p, s, l, e, 'down', local(r.scaled, I), null, a.loraT);
  const dres = byToken(g.dres, H);
  const down = host.w(`${stem}.down.weight`);
  await segMatmul(gpu, p, s, e, { N: I, K: H, transB: false }, { a: dres, b: local(down, I), c: local(g.dact, I) });
  const dDown = grad(`${stem}.down.weight`);
  if (dDown) await segWeightGrad(gpu, p, s, e, { N: H, K: I }, { a: dres, x: local(r.scaled, I), c: local(dDown, I), beta: 1 });
  await loraBackward(host, p, s, l, e, 'down', local(r.scaled, I), dres, local(g.dact, I), a.loraT, g.loraDt);
  await segScaleBackward(gpu, p, s, e, I, a.act, g.dact, r.dcomb);
  await swigluBackward(gpu, p, a.up, g.dact, g.dup, T, I);
  const up = host.w(`${stem}.up.weight`);
  const dup = local(g.dup, 2 * I);
  await segMatmul(gpu, p, s, e, { N: H, K: 2 * I, transB: false }, { a: dup, b: local(up, H), c: byToken(g.dh, H), beta: 1 });
  const dUp = grad(`${stem}.up.weight`);
  if (dUp) await segWeightGrad(gpu, p, s, e, { N: 2 * I, K: H }, { a: dup, x: byToken(a.h2, H), c: local(dUp, H), beta: 1 });
  await loraBackward(host, p, s, l, e, 'up', byToken(a.h2, H), dup, byToken(g.dh, H), a.loraT, g.loraDt);
}

/** dB += s·dyᵀt; dt = s·dy B; dA += dtᵀ x; dx += dt A, on expert e's rows. */
async function loraBackward(
  host: SparseHost, p: Program, s: Segments, l: number, e: number, proj: 'up' | 'down', x: SegOperand, dy: SegOperand,
  dx: SegOperand, loraT: readonly Tensor[], loraDt: Tensor,
): Promise<void> {
  const lora = host.lora;
  if (!lora) return;
  const { gpu } = host;
  const r = lora.settings.r;
  const trains = !host.trainsFull && host.grads !== null;
  const dt = local(loraDt, r);
  for (const m of host.loraModules(l, expertSite(host.cfg, e, proj))) {
    const dyc = { ...dy, t: { ...dy.t, offset: dy.t.offset + m.col } };
    const t = local(loraT[m.slot]!, r);
    const [A, B] = [lora.store.get(m.a), lora.store.get(m.b)];
    if (trains) await segWeightGrad(gpu, p, s, e, { N: m.out, K: r }, { a: dyc, x: t, c: local(host.grads!.get(m.b), r), beta: 1, alpha: lora.scaling });
    await segMatmul(gpu, p, s, e, { N: r, K: m.out, transB: false }, { a: dyc, b: local(B, r), c: dt, alpha: lora.scaling });
    if (trains) await segWeightGrad(gpu, p, s, e, { N: r, K: m.in }, { a: dt, x, c: local(host.grads!.get(m.a), m.in), beta: 1 });
    await segMatmul(gpu, p, s, e, { N: m.in, K: r, transB: false }, { a: dt, b: local(A, m.in), c: dx, beta: 1 });
  }
}

