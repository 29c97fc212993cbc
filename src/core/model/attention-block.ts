import type { Program } from '../gpu/program.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { attentionBackward, attentionForward, type AttentionArgs } from '../kernels/attention.ts';
import { rope } from '../kernels/rope.ts';
import type { StepState } from '../kernels/step-state.ts';
import type { ModelConfig } from './config.ts';
import type { Dims } from './layout.ts';
import { linearBackwardParams, mat, type Mat } from './linear.ts';
import { siteBackward, siteForward, type FusedLoraHost } from './lora-fused.ts';
import { qkNormBackward, qkNormForward, type QkNormTensors } from './qk-norm.ts';
import { layerBounds, recordWindowBounds } from './local-attention.ts';
import { postNormBackward, postNormForward, type PostNormModel } from './post-norm.ts';
import type { GradScratch, LayerActs, TokenInputs } from './layer-buffers.ts';

/** What the attention block needs of the model (transformer.ts passes itself). */
export interface AttentionHost extends FusedLoraHost<LayerActs, GradScratch>, PostNormModel {
  readonly cfg: ModelConfig;
  readonly d: Dims;
  readonly ropePositions: number;
  lw(l: number, name: string): Tensor;
  ropeFor(l: number): Tensor | null;
  attentionArgs(T: number, S: number, a: LayerActs, inputs: TokenInputs, l: number): AttentionArgs;
}

/** Replaces the attention of a layer (generation reads keys and values from a cache). */
export type Attend = (p: Program, layer: number, acts: LayerActs) => Promise<void>;

/**
 * xm = x + o(attn(rope(qkv(h1)))) (with post-norms: x + norm(o(...))), h1 = ln1(x) already in a.h1.
 * The residual add is fused into the output projection (xm starts as a copy of x).
 */
export async function attentionBlockForward(
  model: AttentionHost, p: Program, l: number, T: number, S: number, x: Tensor, a: LayerActs, inputs: TokenInputs,
  step: StepState | null, dropScratch: Tensor | null, attend?: Attend, h1: Mat = mat(a.h1, model.d.H),
): Promise<void> {
  const { gpu, d, cfg } = model;
  const H = d.H;
  await siteForward(model, p, l, 'qkv', T, h1, mat(a.qkv, d.qkvDim), { out: d.qkvDim, inF: H }, {
    bias: cfg.attentionBias ? model.lw(l, 'qkv.bias') : undefined,
  }, a, step, dropScratch);
  if (cfg.qkNorm) await qkNormForward(gpu, p, d, T, cfg.normEps, qkNorm(model, l, a));
  const ropeTable = model.ropeFor(l);
  if (ropeTable) {
    const common = { T, headDim: d.headDim, rowStride: d.qkvDim, positions: inputs.positions, table: ropeTable, maxPositions: model.ropePositions };
    // The k heads follow the q heads in a q|k|v row: one rotation covers both.
    await rope(gpu, p, { ...common, x: a.qkv, heads: d.heads + d.kvHeads });
  }
  await recordWindowBounds(gpu, p, cfg, l, T, { q: inputs.qBounds, k: inputs.kBounds }, a.windowBounds);
  if (attend) await attend(p, l, a);
  else await attentionForward(gpu, p, model.attentionArgs(T, S, a, inputs, l));
  p.add({ kind: 'copy', src: x.buffer, srcOffset: x.offset * 4, dst: a.xm.buffer, dstOffset: a.xm.offset * 4, size: T * H * 4 });
  // With post-norms the projection writes its own output, which the norm adds onto xm.
  const attnOut = cfg.postNorms ? a.attnOut : a.xm;
  await siteForward(model, p, l, 'o', T, mat(a.att, d.qDim), mat(attnOut, H), { out: H, inF: d.qDim }, {
    accumulate: !cfg.postNorms,
    bias: cfg.oBias ? model.lw(l, 'o.bias') : undefined,
  }, a, step, dropScratch);
  if (cfg.postNorms) await postNormForward(model, p, 'post_attn_norm', l, T, { out: a.attnOut, stats: a.attnOutStats }, a.xm);
}

/**
 * The attention block's backward down to d(h1) in g.dh; g.dres holds d(xm). `gw` gives a weight's
 * gradient in layer l, or undefined when it is frozen.
 */
export async function attentionBlockBackward(
  model: AttentionHost, p: Program, l: number, T: number, S: number, a: LayerActs, g: GradScratch, inputs: TokenInputs,
  step: StepState | null, gw: (name: string) => Tensor | undefined, h1: Mat = mat(a.h1, model.d.H),
): Promise<void> {
  const { gpu, d, cfg } = model;
  const H = d.H;
  const dres = mat(g.dres, H);
  if (cfg.postNorms) await postNormBackward(model, p, 'post_attn_norm', l, T, { out: a.attnOut, stats: a.attnOutStats }, g.dres, g.dPostNorm);
  const dO = cfg.postNorms ? mat(g.dPostNorm, H) : dres;
  await siteBackward(model, p, l, 'o', T, mat(a.att, d.qDim), dO, mat(g.datt, d.qDim), { out: H, inF: d.qDim }, false, a, g, step);
  const dOW = gw('o.weight');
  if (dOW) await linearBackwardParams(gpu, p, T, dO, mat(a.att, d.qDim), H, d.qDim, dOW, cfg.oBias ? gw('o.bias') : undefined);
  const bounds = layerBounds(cfg, l, T, { q: inputs.qBounds, k: inputs.kBounds }, a.windowBounds);
  await attentionBackward(gpu, p, {
    ...model.attentionArgs(T, S, a, inputs, l), dO: g.datt, keyBounds: bounds.k, delta: g.delta, grad: g.dqkv,
  });
  const ropeTable = model.ropeFor(l);
  if (ropeTable) {
    const common = { T, headDim: d.headDim, rowStride: d.qkvDim, positions: inputs.positions, table: ropeTable, maxPositions: model.ropePositions };
    await rope(gpu, p, { ...common, x: g.dqkv, heads: d.heads + d.kvHeads }, true);
  }
  if (cfg.qkNorm) {
    const [q, k] = [gw('q_norm.weight'), gw('k_norm.weight')];
    await qkNormBackward(gpu, p, d, T, cfg.normEps, qkNorm(model, l, a), g.dqkv, q && k ? { q, k } : undefined);
  }
  await siteBackward(model, p, l, 'qkv', T, h1, mat(g.dqkv, d.qkvDim), mat(g.dh, H), { out: d.qkvDim, inF: H }, false, a, g, step);
  const dQkv = gw('qkv.weight');
  if (dQkv) await linearBackwardParams(gpu, p, T, mat(g.dqkv, d.qkvDim), h1, d.qkvDim, H, dQkv, cfg.attentionBias ? gw('qkv.bias') : undefined);
}

function qkNorm(model: AttentionHost, l: number, a: LayerActs): QkNormTensors {
  return {
    qkv: a.qkv, raw: a.qkRaw, stats: a.qkStats, qWeight: model.lw(l, 'q_norm.weight'), kWeight: model.lw(l, 'k_norm.weight'),
    weightOffset: model.cfg.normWeightOffset, whole: model.cfg.qkNormWhole,
  };
}
