import type { ParamStore } from '../model/param-store.ts';
import { scaledRanges, type ScaledRange } from './param-groups.ts';

/** Where a range's gradient (and its Adam moments, which mirror the gradients) sit. */
export interface UpdateRange extends ScaledRange {
  readonly grad: { readonly buffer: number; readonly offset: number };
}

/**
 * The optimizer's update ranges: parameters with a learning-rate multiple above 0, each paired
 * with its gradient. When the gradient store mirrors the parameters, the locations coincide;
 * when it holds the trained tensors only (frozen weights), tensors are paired by name and
 * neighbours that are neighbours in both stores are merged into one range.
 */
export function updateRanges(params: ParamStore, grads: ParamStore, scale?: (name: string, shape: readonly number[]) => number): UpdateRange[] {
  const mirrored = grads.count === params.count && grads.lengths.length === params.lengths.length;
  if (mirrored) {
    return scaledRanges(params, scale).filter((r) => r.lrScale > 0).map((r) => ({ ...r, grad: { buffer: r.buffer, offset: r.offset } }));
  }
  const decayAt = (buffer: number, offset: number) =>
    params.ranges.find((r) => r.buffer === buffer && offset >= r.offset && offset < r.offset + r.size)!.decay;
  const out: UpdateRange[] = [];
  for (const name of grads.names) {
    const p = params.get(name);
    const g = grads.get(name);
    const lrScale = scale ? scale(name, p.shape) : 1;
    if (!(lrScale > 0)) throw new Error(`parameter ${name} has a gradient but a learning-rate multiple of ${lrScale}`);
    const size = p.shape.reduce((a, b) => a * b, 1);
    const buffer = params.buffers.indexOf(p.buffer);
    const grad = { buffer: grads.buffers.indexOf(g.buffer), offset: g.offset };
    const decay = decayAt(buffer, p.offset);
    const last = out[out.length - 1];
    const adjacent = last && last.buffer === buffer && last.grad.buffer === grad.buffer && last.decay === decay && last.lrScale === lrScale
      && p.offset - last.offset === grad.offset - last.grad.offset && p.offset >= last.offset + last.size;
    if (adjacent) out[out.length - 1] = { ...last, size: p.offset + size - last.offset };
    else out.push({ buffer, offset: p.offset, size, decay, lrScale, grad });
  }
  return out;
}
