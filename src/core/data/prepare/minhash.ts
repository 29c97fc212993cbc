/**
 * MinHash (Broder 1997): for a random permutation π of hash values, P[min π(A) = min π(B)] equals
 * the Jaccard similarity of A and B, so the share of equal minima over many permutations
 * estimates it. Each shingle hash is mixed once (mix32), then permutation i is
 * y ↦ (y XOR sᵢ)·aᵢ mod 2³² with a random odd aᵢ: a bijection whose high bits (which decide the
 * minimum) depend on every input bit (multiply-shift hashing). One xor and one multiply per
 * permutation keeps signatures cheap; the tests check the estimates against exact Jaccard. Seeds
 * come from the project's seeded Rng: the same seed gives the same signatures everywhere.
 */
import { Rng } from '../../rng.ts';
import { mix32 } from './hash.ts';

export class MinHasher {
  private readonly xors: Uint32Array;
  private readonly mults: Uint32Array;
  private mixed = new Uint32Array(256);

  constructor(
    readonly numPerm: number = 128,
    readonly seed: number = 1,
  ) {
    const rng = new Rng(seed);
    this.xors = new Uint32Array(numPerm);
    this.mults = new Uint32Array(numPerm);
    for (let i = 0; i < numPerm; i++) {
      this.xors[i] = rng.u32();
      this.mults[i] = rng.u32() | 1;
    }
  }

  /** The signature of a shingle set; an empty set gets all-ones (it matches nothing but itself). */
  signature(shingles: Uint32Array): Uint32Array {
    const n = shingles.length;
    if (n > this.mixed.length) this.mixed = new Uint32Array(Math.max(n, this.mixed.length * 2));
    const y = this.mixed;
    for (let i = 0; i < n; i++) y[i] = mix32(shingles[i]!);
    const sig = new Uint32Array(this.numPerm);
    for (let p = 0; p < this.numPerm; p++) {
      const s = this.xors[p]!;
      const a = this.mults[p]!;
      let min = 0xffffffff;
      for (let i = 0; i < n; i++) {
        const v = Math.imul(y[i]! ^ s, a) >>> 0;
        if (v < min) min = v;
      }
      sig[p] = min;
    }
    return sig;
  }
}

/** Estimated Jaccard similarity: the share of positions where two signatures agree. */
export function estimateJaccard(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}
