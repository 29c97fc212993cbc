/**
 * Norms on a block's attention and MLP outputs before the residual add (Gemma 2/3's
 * post_attention_layernorm and post_feedforward_layernorm): x' = x + norm(out). The projection
 * writes `out` alone; the norm adds onto the residual stream, which already holds x.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { normBackward, normForward, type NormArgs } from '../kernels/norm.ts';

export type PostNormSite = 'post_attn_norm' | 'post_mlp_norm';

/** What the norms need of the model (the Transformer). */
export interface PostNormModel {
  readonly gpu: Gpu;
  norm(site: PostNormSite, l: number, T: number, x: Tensor, stats: Tensor): NormArgs;
  normParamGrad(p: Program, site: PostNormSite, l: number, args: NormArgs, dy: Tensor): Promise<void>;
}

/** A branch output and the 1/rms per row that its norm saved. */
export interface PostNormActs {
  readonly out: Tensor;
  readonly stats: Tensor;
}

/** residual += norm(a.out). */
export async function postNormForward(
  m: PostNormModel, p: Program, site: PostNormSite, l: number, T: number, a: PostNormActs, residual: Tensor,
): Promise<void> {
  await normForward(m.gpu, p, m.norm(site, l, T, a.out, a.stats), residual, true);
}

/** dOut = ∂norm/∂out · dResidual (and the norm weight's gradient when weights train). */
export async function postNormBackward(
  m: PostNormModel, p: Program, site: PostNormSite, l: number, T: number, a: PostNormActs, dResidual: Tensor, dOut: Tensor,
): Promise<void> {
  const args = m.norm(site, l, T, a.out, a.stats);
  await normBackward(m.gpu, p, args, dResidual, dOut, false);
  await m.normParamGrad(p, site, l, args, dResidual);
}
