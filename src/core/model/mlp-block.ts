import type { Program } from '../gpu/program.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { activationBackward, activationForward, swigluBackward, swigluForward } from '../kernels/activation.ts';
import { gegluBackward, gegluForward } from '../kernels/geglu.ts';
import type { StepState } from '../kernels/step-state.ts';
import type { ModelConfig } from './config.ts';
import type { Dims } from './layout.ts';
import { linearBackwardParams, mat, type Mat } from './linear.ts';
import { siteBackward, siteForward, type FusedLoraHost } from './lora-fused.ts';
import { postNormBackward, postNormForward, type PostNormModel } from './post-norm.ts';
import type { GradScratch, LayerActs } from './layer-buffers.ts';

/** What the dense MLP block needs of the model (transformer.ts passes itself). */
export interface MlpHost extends FusedLoraHost<LayerActs, GradScratch>, PostNormModel {
  readonly cfg: ModelConfig;
  readonly d: Dims;
  lw(l: number, name: string): Tensor;
}

/**
 * xOut = xm + down(act(up(h2))) (with post-norms: xm + norm(down(...))), h2 = ln2(xm) already in a.h2.
 * The residual add is fused into the down projection (xOut starts as a copy of xm).
 */
export async function mlpBlockForward(
  model: MlpHost, p: Program, l: number, T: number, xOut: Tensor, a: LayerActs, step: StepState | null, dropScratch: Tensor | null,
  h2: Mat = mat(a.h2, model.d.H),
): Promise<void> {
  const { gpu, d, cfg } = model;
  const H = d.H;
  const upBias = cfg.mlpBias ? model.lw(l, 'up.bias') : undefined;
  const upAct = d.gated ? undefined : { kind: 'forward', act: cfg.act, y: a.act, ldy: d.inner } as const;
  const upActDone = await siteForward(model, p, l, 'up', T, h2, mat(a.up, d.upDim), { out: d.upDim, inF: H }, {
    bias: upBias, activation: upAct,
  }, a, step, dropScratch);
  if (d.gated && cfg.act === 'gelu_new') await gegluForward(gpu, p, a.up, a.act, T, d.inner);
  else if (d.gated) await swigluForward(gpu, p, a.up, a.act, T, d.inner);
  else if (!upActDone) await activationForward(gpu, p, cfg.act, a.up, a.act, T * d.inner);
  p.add({ kind: 'copy', src: a.xm.buffer, srcOffset: a.xm.offset * 4, dst: xOut.buffer, dstOffset: xOut.offset * 4, size: T * H * 4 });
  const mlpOut = cfg.postNorms ? a.mlpOut : xOut;
  await siteForward(model, p, l, 'down', T, mat(a.act, d.inner), mat(mlpOut, H), { out: H, inF: d.inner }, {
    accumulate: !cfg.postNorms,
    bias: cfg.mlpBias ? model.lw(l, 'down.bias') : undefined,
  }, a, step, dropScratch);
  if (cfg.postNorms) await postNormForward(model, p, 'post_mlp_norm', l, T, { out: a.mlpOut, stats: a.mlpOutStats }, xOut);
}

/**
 * The dense MLP block's backward down to d(h2) in g.dh; g.dres holds d(xOut). `gw` gives a weight's
 * gradient in layer l, or undefined when it is frozen.
 */
export async function mlpBlockBackward(
  model: MlpHost, p: Program, l: number, T: number, a: LayerActs, g: GradScratch, step: StepState | null,
  gw: (name: string) => Tensor | undefined, h2: Mat = mat(a.h2, model.d.H),
): Promise<void> {
  const { gpu, d, cfg } = model;
  const H = d.H;
  const dres = mat(g.dres, H);
  if (cfg.postNorms) await postNormBackward(model, p, 'post_mlp_norm', l, T, { out: a.mlpOut, stats: a.mlpOutStats }, g.dres, g.dPostNorm);
  const dDown = cfg.postNorms ? mat(g.dPostNorm, H) : dres;
  // The activation's backward rides on the down projection's input gradient when it can (matmul_act.wgsl).
  const geglu = d.gated && cfg.act === 'gelu_new';
  const actGrad = { kind: 'backward', act: geglu ? 'geglu' : d.gated ? 'swiglu' : cfg.act, y: a.up, ldy: d.upDim, width: d.inner } as const;
  const downShape = { out: H, inF: d.inner };
  const actDone = await siteBackward(model, p, l, 'down', T, mat(a.act, d.inner), dDown, mat(g.dact, d.inner), downShape, false, a, g, step, {
    epilogue: actGrad, dx: mat(g.dup, d.upDim),
  });
  const dDownW = gw('down.weight');
  if (dDownW) await linearBackwardParams(gpu, p, T, dDown, mat(a.act, d.inner), H, d.inner, dDownW, cfg.mlpBias ? gw('down.bias') : undefined);
  if (!actDone && geglu) await gegluBackward(gpu, p, a.up, g.dact, g.dup, T, d.inner);
  else if (!actDone && d.gated) await swigluBackward(gpu, p, a.up, g.dact, g.dup, T, d.inner);
  else if (!actDone) await activationBackward(gpu, p, cfg.act, a.up, g.dact, g.dup, T * d.inner);
  await siteBackward(model, p, l, 'up', T, h2, mat(g.dup, d.upDim), mat(g.dh, H), { out: d.upDim, inF: H }, false, a, g, step);
  const dUp = gw('up.weight');
  if (dUp) await linearBackwardParams(gpu, p, T, mat(g.dup, d.upDim), h2, d.upDim, H, dUp, cfg.mlpBias ? gw('up.bias') : undefined);
}
