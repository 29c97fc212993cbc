/**
 * Train/validation split: seeded (the same seed and items give the same split), items keep
 * their order within each part, and train is never empty when there is data.
 */
import { Rng } from '../rng.ts';

export interface SplitOptions {
  /** Share of the items for validation, in [0, 1). */
  fraction?: number;
  /** Number of items for validation (instead of a fraction). */
  count?: number;
  seed: number;
}

export function splitTrainValidation<T>(items: readonly T[], opts: SplitOptions): { train: T[]; validation: T[] } {
  const n = items.length;
  let want: number;
  if (opts.count !== undefined) {
    if (opts.fraction !== undefined) throw new RangeError('give either fraction or count, not both');
    if (!Number.isInteger(opts.count) || opts.count < 0) throw new RangeError(`count must be a non-negative integer, got ${opts.count}`);
    want = opts.count;
  } else {
    const f = opts.fraction ?? 0;
    if (!(f >= 0 && f < 1)) throw new RangeError(`fraction must be in [0, 1), got ${f}`);
    // a non-zero fraction asks for at least one validation item
    want = f > 0 ? Math.max(1, Math.round(n * f)) : 0;
  }
  const k = Math.min(want, Math.max(0, n - 1));
  const picked = new Uint8Array(n);
  const order = new Rng(opts.seed).shuffle(Array.from({ length: n }, (_, i) => i));
  for (let i = 0; i < k; i++) picked[order[i]!] = 1;
  const train: T[] = [];
  const validation: T[] = [];
  for (let i = 0; i < n; i++) (picked[i] ? validation : train).push(items[i]!);
  return { train, validation };
}
