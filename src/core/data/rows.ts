import { Rng } from '../model/rng.ts';
import type { Row } from '../train/trainer.ts';

/** A tokenized example: ids with labels aligned (-100 = no loss). */
export interface TokenExample {
  readonly inputIds: readonly number[];
  readonly labels: readonly number[];
}

/** One example per row, right-padded to `seq` (padding carries no loss and sees nothing after it). */
export function padRows(examples: readonly TokenExample[], seq: number, padId: number): Row[] {
  return examples.map((e) => {
    if (e.inputIds.length > seq) throw new RangeError(`an example of ${e.inputIds.length} tokens does not fit rows of ${seq}`);
    const ids = new Array<number>(seq).fill(padId);
    const labels = new Array<number>(seq).fill(-100);
    const segments = new Array<number>(seq).fill(1);
    for (let i = 0; i < e.inputIds.length; i++) {
      ids[i] = e.inputIds[i]!;
      labels[i] = e.labels[i]!;
      segments[i] = 0;
    }
    return { inputIds: ids, labels, segments, tokens: e.inputIds.length };
  });
}

/**
 * Packs examples into rows of exactly `seq` tokens, first-fit in decreasing length, each example
 * a segment of its own (attention and positions restart at segment changes, so no token sees
 * another example). The tail of a row is padding in a segment of its own.
 */
export function packRows(examples: readonly TokenExample[], seq: number, padId: number): Row[] {
  const order = Array.from(examples.keys()).sort((a, b) => examples[b]!.inputIds.length - examples[a]!.inputIds.length || a - b);
  const bins: { items: number[]; used: number }[] = [];
  for (const i of order) {
    const n = examples[i]!.inputIds.length;
    if (n > seq) throw new RangeError(`an example of ${n} tokens does not fit rows of ${seq}`);
    const bin = bins.find((b) => b.used + n <= seq);
    if (bin) {
      bin.items.push(i);
      bin.used += n;
    } else {
      bins.push({ items: [i], used: n });
    }
  }
  return bins.map((bin) => {
    const ids: number[] = [];
    const labels: number[] = [];
    const segments: number[] = [];
    bin.items.forEach((i, s) => {
      const e = examples[i]!;
      ids.push(...e.inputIds);
      labels.push(...e.labels);
      for (let k = 0; k < e.inputIds.length; k++) segments.push(s);
    });
    const tokens = ids.length;
    while (ids.length < seq) {
      ids.push(padId);
      labels.push(-100);
      segments.push(bin.items.length);
    }
    return { inputIds: ids, labels, segments, tokens };
  });
}

/** A seeded train/validation split of indices: the same seed gives the same split. */
export function splitIndices(n: number, fraction: number, seed: number): { train: number[]; validation: number[] } {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`validation fraction must be in [0, 1), got ${fraction}`);
  const order = new Rng(seed).shuffle(Array.from({ length: n }, (_, i) => i));
  const v = n > 1 ? Math.min(n - 1, Math.round(n * fraction)) : 0;
  const validation = order.slice(0, v).sort((a, b) => a - b);
  const train = order.slice(v).sort((a, b) => a - b);
  return { train, validation };
}

/** Row length for a set of examples: the longest, capped, rounded up to a multiple of 8. */
export function rowLength(examples: readonly TokenExample[], maxLength: number): number {
  const longest = examples.reduce((m, e) => Math.max(m, e.inputIds.length), 2);
  return Math.min(maxLength, Math.ceil(longest / 8) * 8);
}
