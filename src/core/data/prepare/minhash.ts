/**
 * MinHash (Broder 1997): for a random permutation π of hash values, P[min π(A) = min π(B)] equals
 * the Jaccard similarity of A and B, so the share of equal minima over many permutations
 * estimates it. Each "permutation" here is x ↦ mix32(x XOR seedᵢ), a bijection on 32 bits with
 * seeds drawn from the project's seeded Rng: the same seed gives the same signatures everywhere.
 */
import { Rng } from '../../model/rng.ts';
import { mix32 } from './hash.ts';

export class MinHasher {
  private readonly seeds: Uint32Array;

  constructor(
    readonly numPerm: number = 128,
    readonly seed: number = 1,
  ) {
    const rng = new Rng(seed);
    this.seeds = new Uint32Array(numPerm);
    for (let i = 0; i < numPerm; i++) this.seeds[i] = rng.u32();
  }

  /** The signature of a shingle set; an empty set gets all-ones (it matches nothing but itself). */
  signature(shingles: Uint32Array): Uint32Array {
    const sig = new Uint32Array(this.numPerm);
    for (let p = 0; p < this.numPerm; p++) {
      const s = this.seeds[p]!;
      let min = 0xffffffff;
      for (let i = 0; i < shingles.length; i++) {
        const v = mix32(shingles[i]! ^ s);
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
