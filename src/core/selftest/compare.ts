/** What the self-test checks share: random inputs and the error measure against a float64 reference. */
import type { Rng } from '../rng.ts';

/** n values uniform in [-scale, scale). */
export const randomValues = (n: number, rng: Rng, scale = 1): Float32Array => Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);

/** max |got − want| / max |want| (Infinity when the GPU returned a non-finite value). */
export function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    ref = Math.max(ref, Math.abs(want[i]!));
  }
  return Number.isFinite(err) ? err / (ref || 1) : Infinity;
}
