import { describe, expect, it } from 'vitest';
import { packExamples, padExamples, type PackedSequence, type Tokens } from '../../src/core/data/packing.ts';
import { Rng } from '../../src/core/rng.ts';

const PAD = 0;

/** Examples with distinct token values (example i, position k → 1000·(i+1) + k) to trace every token. */
function makeExamples(lengths: number[]): Tokens[] {
  return lengths.map((n, i) => {
    const inputIds = Array.from({ length: n }, (_, k) => 1000 * (i + 1) + k);
    const labels = inputIds.map((id, k) => (k === 0 ? -100 : k % 3 === 0 ? -100 : id));
    return { inputIds, labels };
  });
}

/** Splits a row back into its examples by segment; checks padding on the way. */
function unpack(row: PackedSequence): { ids: number[]; labels: number[] }[] {
  const out: { ids: number[]; labels: number[] }[] = [];
  let cur: { ids: number[]; labels: number[] } | null = null;
  let seg = -1;
  row.inputIds.forEach((id, t) => {
    const s = row.segments[t]!;
    if (s !== seg) {
      expect(s).toBe(seg + 1); // numbered 0, 1, 2... in order
      seg = s;
      cur = { ids: [], labels: [] };
      out.push(cur);
    }
    cur!.ids.push(id);
    cur!.labels.push(row.labels[t]!);
  });
  return out;
}

function checkPacked(examples: Tokens[], rows: PackedSequence[], seqLen: number): void {
  const seen = new Map<number, { ids: number[]; labels: number[] }>();
  for (const row of rows) {
    expect(row.inputIds).toHaveLength(seqLen);
    expect(row.labels).toHaveLength(seqLen);
    expect(row.segments).toHaveLength(seqLen);
    const parts = unpack(row);
    for (const p of parts) {
      if (p.ids[0] === PAD) {
        // padding: last, pad ids, no loss, its own segment
        expect(p).toBe(parts[parts.length - 1]);
        expect(p.ids.every((x) => x === PAD)).toBe(true);
        expect(p.labels.every((x) => x === -100)).toBe(true);
        continue;
      }
      // one segment holds exactly one example: all tokens of the same example, in order
      const ex = Math.floor(p.ids[0]! / 1000) - 1;
      expect(p.ids.every((id) => Math.floor(id / 1000) - 1 === ex)).toBe(true);
      expect(seen.has(ex)).toBe(false);
      seen.set(ex, p);
    }
  }
  // no token lost or changed
  expect(seen.size).toBe(examples.length);
  examples.forEach((e, i) => {
    expect(seen.get(i)!.ids).toEqual(e.inputIds);
    expect(seen.get(i)!.labels).toEqual(e.labels);
  });
}

describe('packExamples', () => {
  it('first-fit decreasing: rows of exactly seqLen, segments never mixed, no token lost', () => {
    const rng = new Rng(7);
    const lengths = Array.from({ length: 500 }, () => 1 + rng.int(64));
    const ex = makeExamples(lengths);
    const { sequences, fill } = packExamples(ex, 64, { padId: PAD });
    checkPacked(ex, sequences, 64);
    const total = lengths.reduce((a, b) => a + b, 0);
    expect(fill).toBeCloseTo(total / (sequences.length * 64), 10);
    // FFD uses at most 11/9·OPT + 6/9 rows; OPT ≥ the token bound and ≥ the examples longer than half a row
    const opt = Math.max(Math.ceil(total / 64), lengths.filter((n) => n > 32).length);
    expect(sequences.length).toBeLessThanOrEqual(Math.floor((11 / 9) * opt + 6 / 9));
    expect(sequences.length).toBeGreaterThanOrEqual(opt);
  });

  it('first fit places each example in the earliest row with room', () => {
    const ex = makeExamples([6, 5, 4, 3, 2]);
    const { sequences } = packExamples(ex, 10, { padId: PAD });
    // sorted: 6,5,4,3,2 → [6,4], [5,3,2]
    expect(sequences.map((s) => unpack(s).filter((p) => p.ids[0] !== PAD).map((p) => p.ids.length))).toEqual([
      [6, 4],
      [5, 3, 2],
    ]);
    expect(sequences[1]!.segments).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 2, 2]);
    expect(sequences[0]!.segments).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
  });

  it('in-order filling keeps data order; padding gets the next segment number', () => {
    const ex = makeExamples([3, 4, 5, 2]);
    const { sequences } = packExamples(ex, 8, { padId: PAD, strategy: 'in-order' });
    checkPacked(ex, sequences, 8);
    expect(sequences.map((s) => s.segments)).toEqual([
      [0, 0, 0, 1, 1, 1, 1, 2],
      [0, 0, 0, 0, 0, 1, 1, 2],
    ]);
    expect(sequences[0]!.inputIds[7]).toBe(PAD);
  });

  it("an example's first token never trains, so no example learns from the previous one", () => {
    const ex = [{ inputIds: [5, 6, 7], labels: [5, 6, 7] }, { inputIds: [8, 9], labels: [8, 9] }];
    const { sequences } = packExamples(ex, 6, { padId: PAD, strategy: 'in-order' });
    expect(sequences[0]!.labels).toEqual([-100, 6, 7, -100, 9, -100]);
  });

  it('a seed shuffles the rows reproducibly', () => {
    const ex = makeExamples(Array.from({ length: 60 }, (_, i) => 1 + (i % 16)));
    const a = packExamples(ex, 16, { padId: PAD, seed: 1 }).sequences;
    const b = packExamples(ex, 16, { padId: PAD, seed: 1 }).sequences;
    const c = packExamples(ex, 16, { padId: PAD, seed: 2 }).sequences;
    const plain = packExamples(ex, 16, { padId: PAD }).sequences;
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const key = (rows: PackedSequence[]) => rows.map((r) => r.inputIds.join(',')).sort();
    expect(key(a)).toEqual(key(plain));
    checkPacked(ex, a, 16);
  });

  it('examples of exactly seqLen fill a row; longer ones and ragged labels are refused', () => {
    const ex = makeExamples([8, 8]);
    expect(packExamples(ex, 8, { padId: PAD }).sequences.map((s) => s.segments)).toEqual([new Array(8).fill(0), new Array(8).fill(0)]);
    expect(() => packExamples(makeExamples([9]), 8, { padId: PAD })).toThrow(/example 0 has 9 tokens, more than the row length 8/);
    expect(() => packExamples([{ inputIds: [1, 2], labels: [1] }], 8, { padId: PAD })).toThrow(/2 ids but 1 labels/);
    expect(packExamples([], 8, { padId: PAD })).toEqual({ sequences: [], fill: 0 });
  });

  it('packs 100k examples nearly full', () => {
    const rng = new Rng(3);
    const ex = makeExamples(Array.from({ length: 100_000 }, () => 4 + rng.int(120)));
    const { sequences, fill } = packExamples(ex, 512, { padId: PAD, seed: 0 });
    expect(sequences.length).toBeGreaterThan(0);
    expect(fill).toBeGreaterThan(0.99);
  });
});

describe('padExamples', () => {
  it('one example per row, right padding with no loss and segment 1', () => {
    const rows = padExamples([{ inputIds: [5, 6, 7], labels: [-100, 6, 7] }], 5, 9);
    expect(rows).toEqual([{ inputIds: [5, 6, 7, 9, 9], labels: [-100, 6, 7, -100, -100], segments: [0, 0, 0, 1, 1] }]);
    expect(() => padExamples([{ inputIds: [1, 2, 3], labels: [1, 2, 3] }], 2, 0)).toThrow(RangeError);
  });
});
