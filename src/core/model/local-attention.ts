/**
 * Sliding-window layers (Gemma 3's "sliding_attention"): their attention bounds, derived on the GPU
 * from the causal ones so that training, scoring and the KV-cache decoder all honour the window,
 * and their own RoPE table (rope_local_base_freq).
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import { tensorOf, viewOf, type Tensor } from '../gpu/tensor.ts';
import { ropeTable } from '../kernels/rope.ts';
import { windowBounds } from '../kernels/window-bounds.ts';
import { ropeParameters, type ModelConfig } from './config.ts';

export interface AttentionBounds {
  /** u32 [T, 2]: the keys each query sees. */
  readonly q: Tensor;
  /** u32 [T, 2]: the queries that see each key. */
  readonly k: Tensor;
}

export const isSliding = (cfg: ModelConfig, layer: number): boolean => cfg.localAttention?.layers[layer] === true;

/** Elements of the per-layer bounds scratch ([T, 2] for queries, then [T, 2] for keys). */
export const windowBoundsElements = (cfg: ModelConfig, T: number): number => (cfg.localAttention ? 4 * T : 1);

/** The bounds layer `layer` attends with: the causal ones, or the window's in `scratch`. */
export function layerBounds(cfg: ModelConfig, layer: number, T: number, causal: AttentionBounds, scratch: Tensor): AttentionBounds {
  if (!isSliding(cfg, layer)) return causal;
  return { q: viewOf(scratch, [2 * T]), k: viewOf(scratch, [2 * T], 2 * T) };
}

/** Records the window bounds of a sliding layer into `scratch` (nothing for a global layer). */
export async function recordWindowBounds(
  gpu: Gpu, p: Program, cfg: ModelConfig, layer: number, T: number, causal: AttentionBounds, scratch: Tensor,
): Promise<void> {
  if (!isSliding(cfg, layer)) return;
  const out = layerBounds(cfg, layer, T, causal, scratch);
  await windowBounds(gpu, p, T, cfg.localAttention!.window, causal.q, causal.k, out.q, out.k);
}

/** The cos/sin table of the sliding layers' RoPE, or null when the model has none. */
export function localRopeTable(gpu: Gpu, cfg: ModelConfig): Tensor | null {
  const local = cfg.localAttention;
  if (!local) return null;
  const { invFreq, attentionScaling } = ropeParameters({ ...cfg, rope: local.rope });
  return tensorOf(gpu.upload(ropeTable(invFreq, cfg.maxPositions, attentionScaling), 'weights', 'rope-table-local'), [cfg.maxPositions, cfg.headDim]);
}
