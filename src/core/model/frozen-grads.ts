/**
 * Full fine-tuning with frozen weights: gradients exist only for the weights that train. The
 * store holds those tensors alone (same order and weight-decay grouping as the weights), and the
 * backward records no weight-gradient work for the rest.
 */
import type { Gpu } from '../gpu/gpu.ts';
import { ParamStore } from './param-store.ts';

/** Which weights a full fine-tuning run trains; the others get no gradient. */
export type TrainsWeight = (name: string) => boolean;

/** A gradient store for the trained weights only; throws when nothing trains. */
export function trainedGradStore(gpu: Gpu, weights: ParamStore, trains: TrainsWeight): ParamStore {
  const decayAt = (buffer: number, offset: number) =>
    weights.ranges.find((r) => r.buffer === buffer && offset >= r.offset && offset < r.offset + r.size)!.decay;
  const specs = weights.names.filter(trains).map((name) => {
    const t = weights.get(name);
    return { name, shape: t.shape, decay: decayAt(weights.buffers.indexOf(t.buffer), t.offset) };
  });
  if (specs.length === 0) throw new RangeError('the freezing settings leave no weight to train');
  // Same order as the weights, so neighbours in both stores stay neighbours (fewer optimizer ranges).
  return ParamStore.create(gpu, specs, 'gradients', 'grads');
}

/**
 * The lowest decoder layer whose backward is needed: below it nothing trains, so the input
 * gradient need not flow further. -1 when the embeddings train (every layer and the embedding
 * backward run).
 */
export function lowestTrainedLayer(names: readonly string[], layers: number, trains: TrainsWeight): number {
  let lowest = layers;
  for (const name of names.filter(trains)) {
    const m = /^layers\.(\d+)\./.exec(name);
    if (m) lowest = Math.min(lowest, Number(m[1]));
    else if (name.startsWith('embed.') || name === 'pos') return -1;
  }
  return lowest;
}
