import { describe, expect, it } from 'vitest';
import { dedupRecords } from '../../src/core/data/prepare/dedup.ts';
import { DEFAULT_DEDUP } from '../../src/core/data/prepare/duplicate-index.ts';
import { findLeakage } from '../../src/core/data/prepare/leakage.ts';
import { Rng } from '../../src/core/rng.ts';
import type { DatasetRecord } from '../../src/core/data/records.ts';

const VOCAB = 'river mountain light garden window silver morning ocean forest paper quiet engine bridge market winter summer stone letter village music doctor island yellow purple ancient modern simple gentle rapid distant narrow golden hidden open broken early late soft loud warm cold bright dark young old small large'.split(' ');

function sentence(rng: Rng): string[] {
  return Array.from({ length: 14 + rng.int(8) }, () => VOCAB[rng.int(VOCAB.length)]!);
}

/** A paraphrase-like edit: a word swapped, inserted or removed, plus case and punctuation changes. */
function perturb(words: string[], rng: Rng): string {
  const w = [...words];
  const edit = rng.int(3);
  const at = 1 + rng.int(w.length - 2);
  if (edit === 0) w[at] = VOCAB[rng.int(VOCAB.length)]!;
  else if (edit === 1) w.splice(at, 0, VOCAB[rng.int(VOCAB.length)]!);
  else w.splice(at, 1);
  const s = w.join(' ');
  return rng.int(2) ? `${s[0]!.toUpperCase()}${s.slice(1)}.` : `${s}!`;
}

describe('de-duplication', () => {
  it('finds planted near duplicates (recall and precision at the default threshold)', () => {
    const rng = new Rng(11);
    const records: DatasetRecord[] = [];
    const planted = new Set<number>();
    const bases = Array.from({ length: 200 }, () => sentence(rng));
    bases.forEach((b) => records.push({ record: { kind: 'text', text: b.join(' ') }, source: { file: 'planted', line: records.length + 1 } }));
    for (let i = 0; i < 150; i++) {
      planted.add(records.length + 1);
      records.push({ record: { kind: 'text', text: perturb(bases[i]!, rng) }, source: { file: 'planted', line: records.length + 1 } });
    }
    const r = dedupRecords(records, DEFAULT_DEDUP);
    const kept = new Set(r.records.map((x) => x.source.line));
    const removed = records.filter((x) => !kept.has(x.source.line)).map((x) => x.source.line);
    // a copy and its base form a pair; either may be the one kept (the cleaner), never both
    const base = (line: number) => (line > 200 ? line - 200 : line);
    const pairKept = (line: number) => [base(line), base(line) + 200].filter((l) => planted.has(base(line) + 200) && kept.has(l)).length;
    const truePositives = removed.filter((l) => planted.has(base(l) + 200) && pairKept(l) === 1).length;
    const recall = [...planted].filter((l) => pairKept(l) === 1).length / planted.size;
    const precision = removed.length ? truePositives / removed.length : 1;
    console.log(`near-duplicate recall ${recall.toFixed(3)}, precision ${precision.toFixed(3)} (${planted.size} planted, ${removed.length} removed, threshold ${(DEFAULT_DEDUP.near as { threshold: number }).threshold})`);
    expect(recall).toBeGreaterThanOrEqual(0.9);
    expect(precision).toBeGreaterThanOrEqual(0.9);
    expect(r.clusters.every((c) => c.duplicates.length > 0)).toBe(true);
  });

  it('removes exact duplicates across case and whitespace, in any script, and is deterministic', () => {
    const mk = (t: string, line: number): DatasetRecord => ({ record: { kind: 'text', text: t }, source: { file: 'x', line } });
    const input = [mk('Hello   World 🌍', 1), mk('hello world 🌍', 2), mk('Привет мир', 3), mk('привет   МИР', 4), mk('different', 5)];
    const a = dedupRecords(input, { exact: true, near: false });
    expect(a.records.map((r) => r.source.line)).toEqual([1, 3, 5]);
    expect(a.clusters.map((c) => [c.kept.line, c.duplicates.map((d) => d.source.line)])).toEqual([[1, [2]], [3, [4]]]);
    expect(dedupRecords(input, DEFAULT_DEDUP).records).toEqual(dedupRecords(input, DEFAULT_DEDUP).records);
  });

  it('reports validation records that leak from the training set', () => {
    const mk = (t: string, line: number, file = 'train'): DatasetRecord => ({ record: { kind: 'prompt', prompt: t, completion: 'yes' }, source: { file, line } });
    const train = [mk('What is the tallest mountain in Europe and how high is it exactly?', 1), mk('Name three rivers that flow through Germany and their lengths.', 2)];
    const val = [mk('what is the tallest mountain in europe, and how high is it exactly', 1, 'val'), mk('A completely unrelated question about poetry and rhyme?', 2, 'val')];
    const r = findLeakage(train, val);
    expect(r.leaked.map((l) => [l.validation.source.line, l.train.line])).toEqual([[1, 1]]);
  });
});
