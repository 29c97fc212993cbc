import { describe, expect, it } from 'vitest';
import type { DatasetRecord } from '../../src/core/data/records.ts';
import { cleanliness, compareCleanliness } from '../../src/core/data/prepare/cleanliness.ts';
import { dedupRecords } from '../../src/core/data/prepare/dedup.ts';

const text = (t: string, line: number): DatasetRecord => ({ record: { kind: 'text', text: t }, source: { file: 'd.jsonl', line } });
const lines = (r: { records: readonly DatasetRecord[] }) => r.records.map((x) => x.source.line);

describe('de-duplication keeps the cleanest copy', () => {
  it('scores odd characters, shouting, repeated punctuation and length', () => {
    expect(cleanliness({ kind: 'text', text: 'THE QUICK brown fox!!! Ok... \u0007 \uFFFD ab' })).toEqual({ odd: 2, shouted: 8, repeatedPunctuation: 2, length: 35 });
    // an ellipsis, acronyms of two letters and emoji joiners are not faults
    expect(cleanliness({ kind: 'text', text: 'Wait... the UK team 👨‍👩‍👧' })).toMatchObject({ odd: 0, shouted: 0, repeatedPunctuation: 0 });
    const c = (t: string) => cleanliness({ kind: 'text', text: t });
    expect(compareCleanliness(c('a\u0001b'), c('AAAA BBBB!!!!'))).toBeGreaterThan(0);
    expect(compareCleanliness(c('hello there friend'), c('hello there'))).toBeLessThan(0);
    expect(compareCleanliness(c('same  text'), c('same text'))).toBe(0);
  });

  it('planted clusters: the clean copy wins wherever it sits in the cluster', () => {
    const clean = 'Water boils at one hundred degrees Celsius at sea level, and at lower temperatures on high mountains.';
    const input = [
      // cluster 1: shouted first, then repeated punctuation, then the clean copy
      text('WATER BOILS at one hundred degrees Celsius at sea level, and at lower temperatures on high mountains.', 1),
      text('Water boils at one hundred degrees Celsius at sea level, and at lower temperatures on high mountains!!!', 2),
      text('An unrelated sentence about the planets that orbit the sun in our solar system, one by one.', 3),
      text(clean, 4),
      // cluster 2: a control character and a bad decode first; the clean one is shorter but wins
      text('The library opens at nine\u0007 in the morning and closes at six in the evening on weekdays \uFFFD.', 5),
      text('The library opens at nine in the morning and closes at six in the evening on weekdays.', 6),
      // cluster 3: all equally clean: the longer one
      text('Bread needs flour, water, salt and yeast, and a few hours to rise before baking.', 7),
      text('Bread needs flour, water, salt and yeast, and a few hours to rise before baking in the oven.', 8),
      // cluster 4: exact duplicates except case: the one not in capitals
      text('PLEASE CLOSE THE DOOR', 9),
      text('please close the door', 10),
    ];
    const r = dedupRecords(input);
    // each kept copy sits where its cluster's first record was
    expect(lines(r)).toEqual([4, 3, 6, 8, 10]);
    expect(r.clusters.map((c) => [c.kept.line, c.duplicates.map((d) => d.source.line)])).toEqual([
      [4, [1, 2]],
      [6, [5]],
      [8, [7]],
      [10, [9]],
    ]);
    // line 1 differs from the kept line 4 only in case: an exact duplicate; line 2 matched line 1 (punctuation is ignored)
    const notes = (rule: string) => r.report.rules.find((x) => x.rule === rule)!.examples.map((e) => [e.source.line, e.note]);
    expect(notes('exact-duplicate')).toEqual([
      [1, 'same as d.jsonl:4; kept the later copy: fewer letters in capitals (0 vs 10)'],
      [9, 'same as d.jsonl:10; kept the later copy: fewer letters in capitals (0 vs 18)'],
    ]);
    expect(notes('near-duplicate')).toEqual([
      [2, '≈ d.jsonl:1 (Jaccard 1.00), as is the kept d.jsonl:4; kept the later copy: fewer repeated punctuation marks (0 vs 2)'],
      [5, expect.stringMatching(/^≈ d\.jsonl:6 \(Jaccard 0\.\d\d\); kept the later copy: fewer odd characters \(0 vs 2\)$/)],
      [7, expect.stringMatching(/^≈ d\.jsonl:8 \(Jaccard 0\.\d\d\); kept the later copy: longer \(92 vs 80 characters\)$/)],
    ]);
  });

  it('is deterministic, and equal copies keep the first', () => {
    const input = [text('Tea is served at four in the afternoon in the garden room.', 1), text('tea is served at four in the afternoon in the garden room.', 2)];
    const a = dedupRecords(input);
    expect(lines(a)).toEqual([1]);
    expect(lines(dedupRecords([...input].reverse()))).toEqual([2]);
    expect(JSON.stringify(dedupRecords(input))).toBe(JSON.stringify(a));
  });
});
