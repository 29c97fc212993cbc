/**
 * Examples → fixed-length rows. Packing puts several examples in one row and numbers them in
 * `segments`, so that the model restarts positions and attention where the number changes and
 * no example sees another; padding fills the rest and has a segment number of its own.
 */
import { Rng } from '../rng.ts';

const IGNORE = -100;

export interface PackedSequence {
  inputIds: number[];
  labels: number[];
  /** Example number of each token within the row (0, 1, ...); padding takes the next number. */
  segments: number[];
}

export interface Tokens {
  readonly inputIds: readonly number[];
  readonly labels: readonly number[];
}

export interface PackOptions {
  padId: number;
  /** 'ffd' (default): first-fit decreasing, the fullest rows; 'in-order': fill rows in data order. */
  strategy?: 'ffd' | 'in-order';
  /** Shuffle the rows with this seed (FFD rows otherwise come longest-first). */
  seed?: number;
}

export interface PackResult {
  sequences: PackedSequence[];
  /** Fraction of the rows' tokens that are real tokens, not padding. */
  fill: number;
}

function checkLength(e: Tokens, i: number, seqLen: number): void {
  if (e.inputIds.length !== e.labels.length) throw new RangeError(`example ${i}: ${e.inputIds.length} ids but ${e.labels.length} labels`);
  if (e.inputIds.length > seqLen) throw new RangeError(`example ${i} has ${e.inputIds.length} tokens, more than the row length ${seqLen} (truncate first)`);
}

/**
 * First fit over bins by a max-tree of their free space: the leftmost bin with room is found in
 * O(log n), so FFD stays fast on 100k examples. Unopened bins have full room, so "leftmost"
 * opens a new one only when no open bin fits.
 */
class FirstFit {
  private readonly size: number;
  private readonly tree: Int32Array;
  count = 0;

  constructor(n: number, cap: number) {
    let size = 1;
    while (size < Math.max(1, n)) size *= 2;
    this.size = size;
    this.tree = new Int32Array(2 * size).fill(cap);
  }

  /** Takes `len` from the leftmost bin with that much room; returns its index. */
  place(len: number): number {
    let node = 1;
    while (node < this.size) node = this.tree[2 * node]! >= len ? 2 * node : 2 * node + 1;
    const bin = node - this.size;
    this.tree[node]! -= len;
    for (node >>= 1; node >= 1; node >>= 1) this.tree[node] = Math.max(this.tree[2 * node]!, this.tree[2 * node + 1]!);
    if (bin >= this.count) this.count = bin + 1;
    return bin;
  }
}

/** Packs examples (each at most seqLen tokens) into rows of exactly seqLen tokens. */
export function packExamples(examples: readonly Tokens[], seqLen: number, opts: PackOptions): PackResult {
  examples.forEach((e, i) => checkLength(e, i, seqLen));
  const bins: number[][] = [];
  if (opts.strategy === 'in-order') {
    let room = 0;
    examples.forEach((e, i) => {
      const n = e.inputIds.length;
      if (bins.length === 0 || n > room) {
        bins.push([]);
        room = seqLen;
      }
      bins[bins.length - 1]!.push(i);
      room -= n;
    });
  } else {
    const order = examples.map((_, i) => i).sort((a, b) => examples[b]!.inputIds.length - examples[a]!.inputIds.length || a - b);
    const ff = new FirstFit(examples.length, seqLen);
    for (const i of order) {
      const bin = ff.place(examples[i]!.inputIds.length);
      (bins[bin] ??= []).push(i);
    }
  }
  if (opts.seed !== undefined) new Rng(opts.seed).shuffle(bins);
  let real = 0;
  const sequences = bins.map((members) => {
    const inputIds: number[] = [];
    const labels: number[] = [];
    const segments: number[] = [];
    members.forEach((idx, s) => {
      const e = examples[idx]!;
      for (let k = 0; k < e.inputIds.length; k++) {
        inputIds.push(e.inputIds[k]!);
        // an example's first token is never a target (no crossing from the previous example)
        labels.push(k === 0 ? IGNORE : e.labels[k]!);
        segments.push(s);
      }
    });
    real += inputIds.length;
    padTo(inputIds, labels, segments, seqLen, opts.padId, members.length);
    return { inputIds, labels, segments };
  });
  return { sequences, fill: sequences.length ? real / (sequences.length * seqLen) : 0 };
}

function padTo(ids: number[], labels: number[], segments: number[], seqLen: number, padId: number, padSegment: number): void {
  while (ids.length < seqLen) {
    ids.push(padId);
    labels.push(IGNORE);
    segments.push(padSegment);
  }
}

/** One example per row, right-padded to seqLen (segment 0 for the example, 1 for padding). */
export function padExamples(examples: readonly Tokens[], seqLen: number, padId: number): PackedSequence[] {
  return examples.map((e, i) => {
    checkLength(e, i, seqLen);
    const inputIds = [...e.inputIds];
    const labels = [...e.labels];
    const segments = new Array<number>(inputIds.length).fill(0);
    padTo(inputIds, labels, segments, seqLen, padId, 1);
    return { inputIds, labels, segments };
  });
}
