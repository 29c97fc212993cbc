/**
 * What a mixture-of-experts MLP adds to the memory estimate (memory.ts): the router and every
 * expert's weights (held in f32 even with an int8 / NF4 / f16 base: only the dense `layers.N.site`
 * weights are converted), and the per-layer routing buffers of moe-block.ts.
 */
import type { ModelConfig } from './arch/types.ts';
import { expertCount, expertInner, routerRows } from './moe-config.ts';

/** Words of one layer's router and experts, each buffer rounded up to `align`. */
export function moeLayerWeights(cfg: ModelConfig, align: (n: number) => number): number {
  const m = cfg.moe!;
  let n = align(routerRows(m) * cfg.hidden);
  for (let e = 0; e < expertCount(m); e++) n += align(2 * expertInner(m, e) * cfg.hidden) + align(cfg.hidden * expertInner(m, e));
  return n;
}

/** Words of one layer's routing activations for T tokens (logits, probabilities, weights, choices, scaled, gradients, dispatch table). */
export function moeLayerActs(cfg: ModelConfig, T: number): number {
  const m = cfg.moe!;
  return T * (4 * routerRows(m) + 2 * m.experts + Math.max(m.expertInner, m.sharedInner)) + 2 * m.experts + 2 * T * m.topK;
}
