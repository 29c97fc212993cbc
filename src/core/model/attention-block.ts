import type { Program } from '../gpu/program.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { attentionBackward, attentionForward, ropeInAttention, type AttentionArgs, type AttentionRope } from '../kernels/attention.ts';
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
  // Generation's attention reads a KV cache, which holds rotated keys: it keeps the rope pass.
  const inKernels = attend ? null : ropeInKernels(model, l, S, inputs);
  if (!inKernels) await ropePass(model, p, l, T, a.qkv, inputs, false);
  await recordWindowBounds(gpu, p, cfg, l, T, { q: inputs.qBounds, k: inputs.kBounds }, a.windowBounds);
  if (attend) await attend(p, l, a);
  else await attentionForward(gpu, p, { ...model.attentionArgs(T, S, a, inputs, l), ...(inKernels ? { rope: inKernels } : {}) });
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
  // a.qkv holds q and k unrotated exactly when the forward left RoPE to the kernels (same question, same answer).
  const inKernels = ropeInKernels(model, l, S, inputs);
  await attentionBackward(gpu, p, {
    ...model.attentionArgs(T, S, a, inputs, l), dO: g.datt, keyBounds: bounds.k, delta: g.delta, grad: g.dqkv,
    ...(inKernels ? { rope: inKernels } : {}),
  });
  if (!inKernels) await ropePass(model, p, l, T, g.dqkv, inputs, true);
  if (cfg.qkNorm) {
    const [q, k] = [gw('q_norm.weight'), gw('k_norm.weight')];
    await qkNormBackward(gpu, p, d, T, cfg.normEps, qkNorm(model, l, a), g.dqkv, q && k ? { q, k } : undefined);
  }
  await siteBackward(model, p, l, 'qkv', T, h1, mat(g.dqkv, d.qkvDim), mat(g.dh, H), { out: d.qkvDim, inF: H }, false, a, g, step);
  const dQkv = gw('qkv.weight');
  if (dQkv) await linearBackwardParams(gpu, p, T, mat(g.dqkv, d.qkvDim), h1, d.qkvDim, H, dQkv, cfg.attentionBias ? gw('qkv.bias') : undefined);
}

/** Layer l's RoPE when the attention kernels apply it as q and k load; null when a rope pass runs (or none is needed). */
function ropeInKernels(model: AttentionHost, l: number, S: number, inputs: TokenInputs): AttentionRope | null {
  const table = model.ropeFor(l);
  if (!table || !ropeInAttention(model.gpu, model.d.headDim, S, S)) return null;
  return { positions: inputs.positions, table, maxPositions: model.ropePositions };
}

/** Rotates the q and k heads of a q|k|v row (k follows q, so one pass covers both); `inverse` for their gradients. */
async function ropePass(model: AttentionHost, p: Program, l: number, T: number, x: Tensor, inputs: TokenInputs, inverse: boolean): Promise<void> {
  const table = model.ropeFor(l);
  if (!table) return;
  const { d } = model;
  const args = { x, T, heads: d.heads + d.kvHeads, headDim: d.headDim, rowStride: d.qkvDim, positions: inputs.positions, table };
  await rope(model.gpu, p, { ...args, maxPositions: model.ropePositions }, inverse);
}

function qkNorm(model: AttentionHost, l: number, a: LayerActs): QkNormTensors {
  return {
    qkv: a.qkv, raw: a.qkRaw, stats: a.qkStats, qWeight: model.lw(l, 'q_norm.weight'), kWeight: model.lw(l, 'k_norm.weight'),
    weightOffset: model.cfg.normWeightOffset, whole: model.cfg.qkNormWhole,
  };
}
