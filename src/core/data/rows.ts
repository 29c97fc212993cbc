import { packExamples, padExamples, type PackedSequence, type Tokens } from './packing.ts';

/** One training row of exactly `seq` tokens (padded or packed). */
export interface Row {
  readonly inputIds: readonly number[];
  readonly labels: readonly number[];
  /** Packed-example numbers (attention and positions restart where they change). */
  readonly segments?: readonly number[];
  /** Real (non-padding) tokens, for throughput; defaults to the row length. */
  readonly tokens?: number;
}

/** Real (non-padding) tokens of a row: everything before the trailing padding segment. */
function realTokens(s: PackedSequence, padId: number): number {
  const last = s.segments.length - 1;
  if (last < 0) return 0;
  const tail = s.segments[last]!;
  let i = last;
  while (i >= 0 && s.segments[i] === tail && s.inputIds[i] === padId && s.labels[i] === -100) i--;
  // A whole last segment of pad tokens is padding; a real example ending in pad ids is rare.
  return i >= 0 && s.segments[i] !== tail ? i + 1 : s.inputIds.length;
}

const toRows = (seqs: PackedSequence[], padId: number): Row[] => seqs.map((s) => ({ ...s, tokens: realTokens(s, padId) }));

/** One example per row, right-padded: the trainer's rows. */
export function padRows(examples: readonly Tokens[], seq: number, padId: number): Row[] {
  return toRows(padExamples(examples, seq, padId), padId);
}

/** Examples packed first-fit-decreasing into rows (attention never crosses examples). */
export function packRows(examples: readonly Tokens[], seq: number, padId: number): Row[] {
  return toRows(packExamples(examples, seq, { padId }).sequences, padId);
}

/** Row length for a set of examples: the longest, capped, rounded up to a multiple of 8. */
export function rowLength(examples: readonly Tokens[], maxLength: number): number {
  const longest = examples.reduce((m, e) => Math.max(m, e.inputIds.length), 2);
  return Math.min(maxLength, Math.ceil(longest / 8) * 8);
}
