/**
 * Locality-sensitive hashing over MinHash signatures ("banding", Leskovec–Rajaraman–Ullman ch. 3):
 * the signature is cut into b bands of r rows, and two records become candidates when all rows
 * of some band agree, which happens with probability 1 − (1 − sʳ)ᵇ for Jaccard similarity s.
 * That S-curve rises around (1/b)^(1/r); b and r are chosen so it rises at the threshold.
 */
import { combine32, mix32 } from './hash.ts';

export interface LshParams {
  readonly bands: number;
  readonly rows: number;
}

/** Relative cost of missing a duplicate vs. comparing a non-duplicate. */
export interface LshWeights {
  readonly falsePositive: number;
  readonly falseNegative: number;
}

/**
 * Candidates are verified by their Jaccard similarity, so a false positive costs only one
 * comparison while a false negative is a duplicate missed for good: misses weigh 9×. At the
 * default threshold 0.7 and 128 permutations this picks 20 bands × 6 rows: a pair at J = 0.7 is
 * a candidate with probability 0.92, at 0.75 with 0.97, at 0.3 with 0.015.
 */
export const DEFAULT_LSH_WEIGHTS: LshWeights = { falsePositive: 0.1, falseNegative: 0.9 };

export function candidateProbability(s: number, p: LshParams): number {
  return 1 - (1 - s ** p.rows) ** p.bands;
}

/** ∫ f over [a, b] by Simpson's rule; the S-curves are smooth so 64 panels are plenty. */
function integrate(f: (x: number) => number, a: number, b: number, panels = 64): number {
  if (b <= a) return 0;
  const h = (b - a) / panels;
  let sum = f(a) + f(b);
  for (let i = 1; i < panels; i++) sum += f(a + i * h) * (i % 2 === 1 ? 4 : 2);
  return (sum * h) / 3;
}

/**
 * The bands × rows (≤ numPerm) minimising the weighted area of false positives (candidate
 * probability below the threshold) and false negatives (non-candidate probability above it),
 * the same criterion datasketch uses.
 */
export function lshParams(threshold: number, numPerm: number, weights: LshWeights = DEFAULT_LSH_WEIGHTS): LshParams {
  let best: LshParams = { bands: numPerm, rows: 1 };
  let bestCost = Infinity;
  for (let bands = 1; bands <= numPerm; bands++) {
    for (let rows = 1; bands * rows <= numPerm; rows++) {
      const p = { bands, rows };
      const fp = integrate((s) => candidateProbability(s, p), 0, threshold);
      const fn = integrate((s) => 1 - candidateProbability(s, p), threshold, 1);
      const cost = weights.falsePositive * fp + weights.falseNegative * fn;
      if (cost < bestCost - 1e-12) {
        bestCost = cost;
        best = p;
      }
    }
  }
  return best;
}

/** Buckets of record ids per band; a query returns every id sharing a bucket in any band. */
export class LshIndex {
  private readonly buckets: Map<number, number[]>[];
  /** Per id, the last visit that saw it: dedupes candidates across bands without a Set per query. */
  private seen = new Uint32Array(1024);
  private visit = 0;

  constructor(readonly params: LshParams) {
    this.buckets = Array.from({ length: params.bands }, () => new Map<number, number[]>());
  }

  private key(sig: Uint32Array, band: number): number {
    let h = band;
    const start = band * this.params.rows;
    for (let i = start; i < start + this.params.rows; i++) h = combine32(h, sig[i]!);
    return mix32(h);
  }

  /** Adds a record; ids are small non-negative integers (positions in a list). */
  insert(id: number, sig: Uint32Array): void {
    if (id >= this.seen.length) {
      const grown = new Uint32Array(Math.max(id + 1, this.seen.length * 2));
      grown.set(this.seen);
      this.seen = grown;
    }
    for (let b = 0; b < this.params.bands; b++) {
      const k = this.key(sig, b);
      const bucket = this.buckets[b]!.get(k);
      if (bucket) bucket.push(id);
      else this.buckets[b]!.set(k, [id]);
    }
  }

  /** Calls `fn` once for each id sharing at least one band with `sig`, in no particular order. */
  forEachCandidate(sig: Uint32Array, fn: (id: number) => void): void {
    if (++this.visit === 0xffffffff) {
      this.seen.fill(0);
      this.visit = 1;
    }
    const v = this.visit;
    for (let b = 0; b < this.params.bands; b++) {
      const bucket = this.buckets[b]!.get(this.key(sig, b));
      if (!bucket) continue;
      for (const id of bucket) {
        if (this.seen[id] !== v) {
          this.seen[id] = v;
          fn(id);
        }
      }
    }
  }

  /** Ids sharing at least one band with `sig`, ascending. */
  query(sig: Uint32Array): number[] {
    const out: number[] = [];
    this.forEachCandidate(sig, (id) => out.push(id));
    return out.sort((x, y) => x - y);
  }
}
