import { expect } from 'vitest';

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
