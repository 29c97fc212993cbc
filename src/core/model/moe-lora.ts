/**
 * LoRA on the experts of a mixture-of-experts block (PEFT keys such as
 * `model.layers.0.block_sparse_moe.experts.3.w1` or `mlp.experts.3.gate_proj`): each expert's
 * gate|up and down projections take LoRA modules like a dense MLP's (plain LoRA, with dropout; DoRA
 * is refused for experts in lora.ts).
 */
import type { Program } from '../gpu/program.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { dropout } from '../kernels/dropout.ts';
import { matmul } from '../kernels/matmul.ts';
import type { StepState } from '../kernels/step-state.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { ModelConfig } from './arch/types.ts';
import { linearBackwardParams, linearForward, mat, type Mat } from './linear.ts';
import type { ExpertSite, LoraAdapter, LoraModule, Site } from './lora.ts';
import { expertStem } from './moe-config.ts';
import type { ParamStore } from './param-store.ts';

/** The LoRA site of expert e's gate|up or down projection (the shared expert is -1 in module ids). */
export function expertSite(cfg: ModelConfig, e: number, proj: 'up' | 'down'): ExpertSite {
  return `expert.${e < cfg.moe!.experts ? e : -1}.${proj}`;
}

export const isExpertSite = (site: Site | ExpertSite): site is ExpertSite => site.startsWith('expert.');

/** The base weight a LoRA site adds to: `layers.L.qkv.weight`, or an expert's `layers.L.experts.E.up.weight`. */
export function siteParam(cfg: ModelConfig, layer: number, site: Site | ExpertSite): string {
  const m = /^expert\.(-?\d+)\.(up|down)$/.exec(site);
  if (!m) return `layers.${layer}.${site}.weight`;
  const e = Number(m[1]);
  return `${expertStem(layer, e < 0 ? cfg.moe!.experts : e, cfg.moe!)}.${m[2]}.weight`;
}

/** What the expert LoRA needs of the model (transformer.ts passes itself). */
export interface ExpertLoraHost {
  readonly gpu: Gpu;
  readonly lora: LoraAdapter | null;
  readonly grads: ParamStore | null;
  readonly trainsFull: boolean;
  loraModules(l: number, site: Site | ExpertSite): LoraModule[];
  loraInput(p: Program, T: number, m: LoraModule, x: Mat, step: StepState | null, scratch: Tensor | null): Promise<Mat>;
}

/** y[:, cols] += s · (dropout(x) Aᵀ) Bᵀ for each module at the site; t[slot] = dropout(x) Aᵀ. */
export async function expertLoraForward(
  host: ExpertLoraHost, p: Program, l: number, site: ExpertSite, T: number, x: Mat, y: Mat | null, loraT: readonly Tensor[],
  step: StepState | null, scratch: Tensor | null,
): Promise<void> {
  const lora = host.lora;
  if (!lora) return;
  const r = lora.settings.r;
  for (const m of host.loraModules(l, site)) {
    const xin = await host.loraInput(p, T, m, x, step, scratch);
    const t = loraT[m.slot]!;
    await linearForward(host.gpu, p, T, xin, lora.store.get(m.a), r, m.in, mat(t, r));
    if (y) await linearForward(host.gpu, p, T, mat(t, r), lora.store.get(m.b), m.out, r, mat(y.t, y.ld, m.col), { accumulate: true, alpha: lora.scaling });
  }
}

/** dB += s·dyᵀt; dt = s·dy B; dA += dtᵀ·dropout(x); dx += dropout'(dt A). */
export async function expertLoraBackward(
  host: ExpertLoraHost, p: Program, l: number, site: ExpertSite, T: number, x: Mat, dy: Mat, dx: Mat, loraT: readonly Tensor[],
  s: { readonly loraDt: Tensor; readonly dropped: Tensor }, step: StepState | null,
): Promise<void> {
  const lora = host.lora;
  if (!lora) return;
  const { gpu } = host;
  const r = lora.settings.r;
  const trainsLora = !host.trainsFull && host.grads !== null;
  for (const m of host.loraModules(l, site)) {
    const t = loraT[m.slot]!;
    const dyc = mat(dy.t, dy.ld, m.col);
    if (trainsLora) await linearBackwardParams(gpu, p, T, dyc, mat(t, r), m.out, r, host.grads!.get(m.b), undefined, lora.scaling);
    await matmul(gpu, p, { a: dyc.t, lda: dyc.ld, b: lora.store.get(m.b), c: s.loraDt, M: T, N: r, K: m.out, alpha: lora.scaling });
    if (trainsLora) {
      const xin = await host.loraInput(p, T, m, x, step, s.dropped);
      await linearBackwardParams(gpu, p, T, mat(s.loraDt, r), xin, r, m.in, host.grads!.get(m.a));
    }
    const A = lora.store.get(m.a);
    if (lora.settings.dropout > 0 && step) {
      await matmul(gpu, p, { a: s.loraDt, b: A, c: s.dropped, M: T, N: m.in, K: r });
      await dropout(gpu, p, s.dropped, dx.t, T * m.in, lora.settings.dropout, m.stream, step.tensor, true);
    } else {
      await matmul(gpu, p, { a: s.loraDt, b: A, c: dx.t, ldc: dx.ld, M: T, N: m.in, K: r, beta: 1 });
    }
  }
}
