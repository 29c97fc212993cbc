import { expect } from 'vitest';
import type { Gpu } from '../../src/core/gpu/gpu.ts';
import { readTensor } from '../../src/core/gpu/tensor.ts';
import type { Transformer } from '../../src/core/model/transformer.ts';
import type { LoraValues } from '../reference/weights-ref.ts';

/**
 * Checks the GPU's gradient of every tensor against the float64 central difference (h = 1e-5) of `loss` at three
 * of its entries (the first, one a third in, the last), within `tol` × the tensor's largest |gradient|. `w` holds
 * the float64 weights `loss` reads, by Hugging Face name; it is restored after each entry. Returns how many entries were checked.
 */
export function expectCentralDifferences(
  grads: ReadonlyMap<string, { data: Float32Array }>, w: ReadonlyMap<string, Float64Array>, loss: () => number, tol: number,
): number {
  let checked = 0;
  for (const [tensor, g] of grads) {
    const base = w.get(tensor)!;
    const maxAbs = g.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (const k of [0, Math.floor(base.length / 3), base.length - 1]) {
      const h = 1e-5;
      const saved = base[k]!;
      base[k] = saved + h;
      const up = loss();
      base[k] = saved - h;
      const down = loss();
      base[k] = saved;
      const fd = (up - down) / (2 * h);
      expect(Math.abs(g.data[k]! - fd), `${tensor}[${k}] gpu ${g.data[k]} fd ${fd}`).toBeLessThan(tol * Math.max(maxAbs, 1e-6));
      checked++;
    }
  }
  return checked;
}

/**
 * The same for a LoRA adapter's A and B gradients, at the first and last entry of each; `mods` holds the float64
 * A and B that `loss` reads, in the adapter's module order.
 */
export async function expectLoraCentralDifferences(
  gpu: Gpu, model: Transformer, mods: readonly LoraValues[], loss: () => number, tol: number,
): Promise<number> {
  let checked = 0;
  for (const [j, m] of model.lora!.modules.entries()) {
    for (const which of ['A', 'B'] as const) {
      const g = await readTensor(gpu, model.grads!.get(which === 'A' ? m.a : m.b));
      const values = which === 'A' ? mods[j]!.A : mods[j]!.B;
      const maxAbs = g.reduce((acc, v) => Math.max(acc, Math.abs(v)), 0);
      for (const k of [0, values.length - 1]) {
        const h = 1e-5;
        const saved = values[k]!;
        values[k] = saved + h;
        const up = loss();
        values[k] = saved - h;
        const down = loss();
        values[k] = saved;
        const fd = (up - down) / (2 * h);
        expect(Math.abs(g[k]! - fd), `${m.layer} ${m.id} ${which}[${k}] gpu ${g[k]} fd ${fd}`).toBeLessThan(tol * Math.max(maxAbs, 1e-6));
        checked++;
      }
    }
  }
  return checked;
}
