import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, datasetHash } from '../../src/core/data/hash.ts';
import type { DatasetRecord } from '../../src/core/data/records.ts';
import { sha256Hex } from '../../src/core/data/sha256.ts';
import { tokenStats } from '../../src/core/data/stats.ts';

const ex = (n: number, trained: number) => ({ inputIds: new Array<number>(n).fill(1), labels: Array.from({ length: n }, (_, k) => (k < n - trained ? -100 : 1)) });

describe('tokenStats', () => {
  it('counts tokens, trainable tokens, lengths and a histogram', () => {
    const s = tokenStats([ex(10, 4), ex(3, 3), ex(25, 0), ex(12, 12)], 2);
    expect(s).toMatchObject({ examples: 4, tokens: 50, trainableTokens: 19, minLength: 3, maxLength: 25, meanLength: 12.5, truncated: 2 });
    const { edges, counts } = s.histogram;
    expect(edges).toHaveLength(counts.length + 1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(4);
    expect(edges[0]).toBeLessThanOrEqual(3);
    expect(edges[edges.length - 1]).toBeGreaterThan(25);
    // every length falls in its bin
    for (const n of [10, 3, 25, 12]) {
      const b = edges.findIndex((e, i) => i < counts.length && n >= e && n < edges[i + 1]!);
      expect(b).toBeGreaterThanOrEqual(0);
    }
    expect(edges[1]! - edges[0]!).toBe(2); // round widths: 1, 2, 5 × 10^k
  });

  it('uses round bin widths for long examples', () => {
    const s = tokenStats([ex(100, 1), ex(1999, 1), ex(2048, 1)]);
    expect(s.histogram.edges.slice(0, 3)).toEqual([0, 200, 400]);
    expect(s.histogram.edges).toHaveLength(12);
    expect(s.histogram.counts[0]).toBe(1);
    expect(s.histogram.counts[s.histogram.counts.length - 1]).toBe(1);
  });

  it('is all zeros for no examples', () => {
    expect(tokenStats([])).toEqual({ examples: 0, tokens: 0, trainableTokens: 0, minLength: 0, maxLength: 0, meanLength: 0, histogram: { edges: [], counts: [] }, truncated: 0 });
  });
});

describe('sha256Hex (WebCrypto)', () => {
  it('matches node:crypto on lengths around block boundaries, whole or in pieces', async () => {
    for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 100_003]) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);
      const want = createHash('sha256').update(data).digest('hex');
      expect(await sha256Hex(data)).toBe(want);
      const pieces: Uint8Array[] = [];
      for (let i = 0; i < n; i += 37) pieces.push(data.subarray(i, i + 37));
      expect(await sha256Hex(pieces)).toBe(want);
    }
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('datasetHash', () => {
  const recs = (file: string): DatasetRecord[] => [
    { record: { kind: 'text', text: 'héllo 🌍' }, source: { file, line: 1 } },
    { record: { kind: 'prompt', prompt: 'p', completion: 'c' }, source: { file, line: 2 }, fields: { category: 'x' } },
    { record: { kind: 'chat', messages: [{ role: 'user', content: 'a' }] }, source: { file, line: 3 } },
  ];

  it('is a stable hex SHA-256 of the canonical records, independent of key order, file and extra fields', async () => {
    const h = await datasetHash(recs('a.jsonl'));
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(await datasetHash(recs('b.csv'))).toBe(h);
    const expected = createHash('sha256')
      .update(recs('a').map((r) => canonicalJson(r.record) + '\n').join(''))
      .digest('hex');
    expect(h).toBe(expected);
    const reordered: DatasetRecord[] = recs('a.jsonl').map((r) => (r.record.kind === 'prompt' ? { ...r, record: { completion: 'c', prompt: 'p', kind: 'prompt' } } : r));
    expect(await datasetHash(reordered)).toBe(h);
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 'x' }] })).toBe('{"a":[{"c":"x","d":2}],"b":1}');
  });

  it('changes with the content and the order', async () => {
    const base = await datasetHash(recs('a'));
    const changed = recs('a');
    changed[0] = { ...changed[0]!, record: { kind: 'text', text: 'hello 🌍' } };
    expect(await datasetHash(changed)).not.toBe(base);
    expect(await datasetHash([...recs('a')].reverse())).not.toBe(base);
    expect(await datasetHash([])).toBe(createHash('sha256').digest('hex'));
  });
});
