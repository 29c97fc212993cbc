import { describe, expect, it } from 'vitest';
import type { DataRecord, DatasetRecord } from '../../src/core/data/records.ts';
import { Rng } from '../../src/core/rng.ts';
import { dedupRecords } from '../../src/core/data/prepare/dedup.ts';
import { DEFAULT_DEDUP, DEFAULT_NEAR_DUP, exactKey, type DedupConfig } from '../../src/core/data/prepare/duplicate-index.ts';
import { findLeakage } from '../../src/core/data/prepare/leakage.ts';
import { candidateProbability, lshParams } from '../../src/core/data/prepare/lsh.ts';
import { estimateJaccard, MinHasher } from '../../src/core/data/prepare/minhash.ts';
import { jaccard, jaccardAtLeast, normaliseForMatch, shingleSet } from '../../src/core/data/prepare/shingles.ts';
import { LshIndex } from '../../src/core/data/prepare/lsh.ts';
import { cleanRecords } from '../../src/core/data/prepare/clean.ts';

const rec = (record: DataRecord, line: number, file = 'data.jsonl'): DatasetRecord => ({ record, source: { file, line } });
const text = (t: string, line: number, file?: string) => rec({ kind: 'text', text: t }, line, file);
const set = (t: string) => shingleSet(normaliseForMatch(t));

describe('shingles and MinHash', () => {
  it('normalises case, punctuation and whitespace before shingling', () => {
    expect(normaliseForMatch('  Hello,   WORLD!  Ça va?')).toBe('hello world ça va');
    expect(jaccard(set('Hello, world!'), set('hello world'))).toBe(1);
  });

  it('exact Jaccard of shingle sets', () => {
    const a = shingleSet('abcdef', { unit: 'char', size: 3 }); // abc bcd cde def
    const b = shingleSet('abcdxy', { unit: 'char', size: 3 }); // abc bcd cdx dxy
    expect(jaccard(a, b)).toBeCloseTo(2 / 6, 10);
    expect(shingleSet('ab', { unit: 'char', size: 5 }).length).toBe(1);
    expect(shingleSet('', { unit: 'char', size: 5 }).length).toBe(0);
    const w = shingleSet('the cat sat on the mat', { unit: 'word', size: 2 });
    expect(w.length).toBe(5);
  });

  it('jaccardAtLeast agrees with jaccard and gives up below the threshold', () => {
    const rng = new Rng(5);
    for (let k = 0; k < 300; k++) {
      const a = Uint32Array.from(new Set(Array.from({ length: 5 + rng.int(40) }, () => rng.int(60)))).sort();
      const b = Uint32Array.from(new Set(Array.from({ length: 5 + rng.int(40) }, () => rng.int(60)))).sort();
      const t = 0.1 + rng.next() * 0.8;
      const j = jaccard(a, b);
      expect(jaccardAtLeast(a, b, t)).toBe(j >= t ? j : -1);
    }
  });

  it('LSH candidates: each id once, whatever the number of shared bands', () => {
    const li = new LshIndex({ bands: 4, rows: 2 });
    const sig = Uint32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    li.insert(0, sig);
    li.insert(1, Uint32Array.from([1, 2, 9, 9, 5, 6, 9, 9])); // shares bands 0 and 2
    li.insert(2, Uint32Array.from([9, 9, 9, 9, 9, 9, 9, 9]));
    li.insert(5000, Uint32Array.from([0, 0, 0, 0, 0, 0, 7, 8])); // shares band 3; a large id grows the marks
    expect(li.query(sig)).toEqual([0, 1, 5000]);
    expect(li.query(sig)).toEqual([0, 1, 5000]);
  });

  it('MinHash estimates Jaccard within sampling error and is seeded', () => {
    const a = set('The quick brown fox jumps over the lazy dog near the river bank this morning.');
    const b = set('The quick brown fox leaps over the lazy dog near the river bank this evening.');
    const exact = jaccard(a, b);
    const h = new MinHasher(256, 42);
    const est = estimateJaccard(h.signature(a), h.signature(b));
    // std of the estimate is sqrt(J(1-J)/256) ≈ 0.03
    expect(Math.abs(est - exact)).toBeLessThan(0.1);
    expect(new MinHasher(256, 42).signature(a)).toEqual(h.signature(a));
    expect(new MinHasher(256, 43).signature(a)).not.toEqual(h.signature(a));
  });

  it('MinHash estimates are unbiased with binomial spread over many pairs, random or structured', () => {
    const rng = new Rng(3);
    const h = new MinHasher(128, 7);
    for (const structured of [false, true]) {
      let bias = 0;
      let z2 = 0;
      const n = 300;
      for (let k = 0; k < n; k++) {
        const size = 20 + rng.int(200);
        const start = rng.u32();
        // Consecutive integers are the hard case for a weak permutation family.
        const all = Array.from({ length: size * 2 }, (_, i) => (structured ? (start + i) >>> 0 : rng.u32()));
        const shared = Math.floor(size * rng.next());
        const a = Uint32Array.from(all.slice(0, size)).sort();
        const b = Uint32Array.from([...all.slice(0, shared), ...all.slice(size, 2 * size - shared)]).sort();
        const j = jaccard(a, b);
        const e = estimateJaccard(h.signature(a), h.signature(b));
        bias += e - j;
        z2 += ((e - j) / Math.sqrt(Math.max(j * (1 - j), 1e-4) / 128)) ** 2;
      }
      console.log(`MinHash (${structured ? 'consecutive' : 'random'} values): mean error ${(bias / n).toFixed(4)}, rms z ${Math.sqrt(z2 / n).toFixed(2)} (ideal 0, 1)`);
      expect(Math.abs(bias / n)).toBeLessThan(0.01);
      expect(Math.sqrt(z2 / n)).toBeLessThan(1.3);
    }
  });

  it('chooses bands and rows whose S-curve rises at the threshold', () => {
    for (const t of [0.5, 0.7, 0.85]) {
      const p = lshParams(t, 128);
      expect(p.bands * p.rows).toBeLessThanOrEqual(128);
      expect(candidateProbability(t + 0.1, p)).toBeGreaterThan(0.95);
      expect(candidateProbability(t - 0.35, p)).toBeLessThan(0.1);
    }
    expect(lshParams(0.7, 128)).toEqual({ bands: 20, rows: 6 });
    // A higher threshold asks for more rows per band.
    expect(lshParams(0.9, 128).rows).toBeGreaterThan(lshParams(0.5, 128).rows);
  });
});

describe('dedupRecords (hand-made sets)', () => {
  it('removes exact duplicates after case/whitespace normalisation and reports clusters', () => {
    const input = [
      text('Bonjour le monde', 1),
      text('bonjour   le MONDE', 2),
      text('Hallo Welt', 3),
      text('BONJOUR LE MONDE', 4),
      text('Привет, мир', 5),
      text('привет,  мир', 6),
    ];
    const frozen = JSON.stringify(input);
    const r = dedupRecords(input, { exact: true, near: false });
    expect(r.records.map((x) => x.source.line)).toEqual([1, 3, 5]);
    expect(r.clusters).toEqual([
      {
        kept: { file: 'data.jsonl', line: 1 },
        keptIndex: 0,
        duplicates: [
          { source: { file: 'data.jsonl', line: 2 }, index: 1, similarity: 1, kind: 'exact' },
          { source: { file: 'data.jsonl', line: 4 }, index: 3, similarity: 1, kind: 'exact' },
        ],
      },
      { kept: { file: 'data.jsonl', line: 5 }, keptIndex: 4, duplicates: [{ source: { file: 'data.jsonl', line: 6 }, index: 5, similarity: 1, kind: 'exact' }] },
    ]);
    const rule = r.report.rules.find((x) => x.rule === 'exact-duplicate')!;
    expect(rule.removed).toBe(3);
    expect(rule.examples[0]!.note).toBe('same as data.jsonl:1');
    expect(JSON.stringify(input)).toBe(frozen);
  });

  it('keys on structure: the same words as prompt and as text, or under other roles, are not exact duplicates', () => {
    const a = exactKey({ kind: 'prompt', prompt: 'a', completion: 'b' });
    const b = exactKey({ kind: 'text', text: 'a b' });
    const c = exactKey({ kind: 'chat', messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] });
    const d = exactKey({ kind: 'chat', messages: [{ role: 'assistant', content: 'a' }, { role: 'user', content: 'b' }] });
    expect(new Set([a, b, c, d]).size).toBe(4);
    const r = dedupRecords([rec({ kind: 'tokens', inputIds: [1, 2, 3] }, 1), rec({ kind: 'tokens', inputIds: [1, 2, 3] }, 2), rec({ kind: 'tokens', inputIds: [1, 2] }, 3)], {
      exact: true,
      near: false,
    });
    expect(r.records.map((x) => x.source.line)).toEqual([1, 3]);
  });

  it('finds near duplicates in several languages and emoji, but keeps template siblings apart', () => {
    const input = [
      text('Le chat noir dort paisiblement sur le canapé du salon pendant que la pluie tombe.', 1),
      text('Le chat noir dort tranquillement sur le canapé du salon pendant que la pluie tombe !', 2),
      text('Die Katze schläft ruhig auf dem Sofa im Wohnzimmer, während draußen der Regen fällt.', 3),
      text('Die Katze schläft ruhig auf dem Sofa im Wohnzimmer während draußen der Regen fällt', 4),
      text('Кошка спокойно спит на диване в гостиной, пока за окном идёт дождь.', 5),
      text('Кошка спокойно спит на диване в гостиной пока за окном идёт сильный дождь.', 6),
      text('黑猫在客厅的沙发上安静地睡觉，外面正在下雨。', 7),
      text('黑猫在客厅的沙发上安静地睡觉。外面正在下雨！', 8),
      text('猫はリビングのソファで静かに眠っていて、外では雨が降っています。', 9),
      text('猫はリビングのソファで静かに眠っていて外では雨が降っています', 10),
      text('القطة السوداء تنام بهدوء على الأريكة في غرفة المعيشة بينما يتساقط المطر.', 11),
      text('القطة السوداء تنام بهدوء على الأريكة في غرفة المعيشة بينما يتساقط المطر بغزارة.', 12),
      text('Party tonight 🎉🎉 bring snacks 🍕 and your best dance moves 💃 see you at eight!', 13),
      text('Party tonight 🎉🎉 bring snacks 🍕 and your best dance moves 💃 see you at 8!', 14),
      text('Write a haiku about the sea in autumn.', 15),
      text('Write a haiku about the sea in spring.', 16),
    ];
    const r = dedupRecords(input);
    // the cleaner copy of each pair is kept, in the first copy's place: here the longer one, or the first when equal
    expect(r.records.map((x) => x.source.line)).toEqual([2, 3, 6, 7, 9, 12, 13, 15, 16]);
    expect(r.clusters.map((c) => [c.kept.line, c.duplicates.map((d) => d.source.line)])).toEqual([
      [2, [1]],
      [3, [4]],
      [6, [5]],
      [7, [8]],
      [9, [10]],
      [12, [11]],
      [13, [14]],
    ]);
    for (const c of r.clusters) for (const d of c.duplicates) expect(d.similarity).toBeGreaterThanOrEqual(DEFAULT_NEAR_DUP.threshold);
    expect(r.lsh).toEqual({ bands: 20, rows: 6 });
  });

  it('compares prompt, chat and token records by their content', () => {
    const long = 'Explain how photosynthesis turns sunlight, water and carbon dioxide into sugar and oxygen in green plants.';
    const input = [
      rec({ kind: 'prompt', prompt: long, completion: 'Plants capture light with chlorophyll.' }, 1),
      rec({ kind: 'prompt', prompt: long.replace('green plants', 'plants'), completion: 'Plants capture light with chlorophyll.' }, 2),
      rec({ kind: 'chat', messages: [{ role: 'user', content: long }, { role: 'assistant', content: 'Plants capture light with chlorophyll!' }] }, 3),
      rec({ kind: 'tokens', inputIds: Array.from({ length: 40 }, (_, i) => i) }, 4),
      rec({ kind: 'tokens', inputIds: [...Array.from({ length: 40 }, (_, i) => i), 99] }, 5),
    ];
    const r = dedupRecords(input);
    expect(r.records.map((x) => x.source.line)).toEqual([1, 4]);
  });

  it('is deterministic and the threshold is adjustable', () => {
    const input = [text('The quick brown fox jumps over the lazy dog by the river.', 1), text('The quick brown fox jumps over a lazy dog by the river.', 2)];
    const sim = jaccard(set(input[0]!.record.kind === 'text' ? input[0]!.record.text : ''), set(input[1]!.record.kind === 'text' ? input[1]!.record.text : ''));
    const below: DedupConfig = { exact: true, near: { ...DEFAULT_NEAR_DUP, threshold: Math.min(1, sim + 0.05) } };
    const above: DedupConfig = { exact: true, near: { ...DEFAULT_NEAR_DUP, threshold: sim - 0.05 } };
    expect(dedupRecords(input, below).records).toHaveLength(2);
    expect(dedupRecords(input, above).records).toHaveLength(1);
    expect(JSON.stringify(dedupRecords(input, above))).toBe(JSON.stringify(dedupRecords(input, above)));
    const est: DedupConfig = { exact: false, near: { ...DEFAULT_NEAR_DUP, threshold: sim - 0.1, verify: 'estimate' } };
    expect(dedupRecords(input, est).records).toHaveLength(1);
  });

  it('rejects impossible settings', () => {
    expect(() => dedupRecords([], { exact: true, near: { ...DEFAULT_NEAR_DUP, threshold: 0 } })).toThrow(RangeError);
    expect(() => dedupRecords([], { exact: true, near: { ...DEFAULT_NEAR_DUP, bands: 20, rows: 7 } })).toThrow(RangeError);
  });
});

describe('findLeakage (near copies across splits)', () => {
  it('returns validation records that duplicate a training record', () => {
    const train = [
      text('Quelle est la capitale de la France ? La capitale de la France est Paris.', 1, 'train.jsonl'),
      text('Wie spät ist es in Berlin, wenn es in New York zwölf Uhr mittags ist?', 2, 'train.jsonl'),
    ];
    const validation = [
      text('quelle est la capitale de la france ? la capitale de la france est paris.', 1, 'val.jsonl'),
      text('Wie spät ist es in Berlin wenn es in New York zwölf Uhr mittags ist', 2, 'val.jsonl'),
      text('Combien de pattes a une araignée ? Une araignée a huit pattes.', 3, 'val.jsonl'),
    ];
    const r = findLeakage(train, validation);
    expect(r.checked).toBe(3);
    expect(r.leaked.map((l) => [l.validation.source.line, l.train.line, l.kind])).toEqual([
      [1, 1, 'exact'],
      [2, 2, 'near'],
    ]);
  });
});

// ---- planted near-duplicate set -------------------------------------------------------------

const WORDS = {
  adj: 'quick lazy bright dark silent noisy ancient modern tiny huge gentle fierce rusty shiny happy tired clever careful warm cold green narrow wooden famous'.split(' '),
  noun: 'fox dog teacher river mountain engine garden window doctor city farmer castle robot bridge student forest kettle library painter ocean pilot bakery museum harbour'.split(' '),
  verb: 'watches builds paints follows repairs visits crosses guards describes carries opens finds cleans measures photographs remembers'.split(' '),
  prep: 'near under behind beside above across inside around'.split(' '),
  tail: ['slowly', 'today', 'at night', 'every morning', 'without a sound', 'with great care', 'in the rain', 'before dinner', 'after the storm', 'for the third time'],
  filler: 'really very also just quite still even'.split(' '),
};

/** A sentence of roughly 13–25 words: three or four clauses from the word lists. */
function baseSentence(rng: Rng): string {
  const p = (a: string[]) => a[rng.int(a.length)]!;
  const parts = [`The ${p(WORDS.adj)} ${p(WORDS.noun)} ${p(WORDS.verb)} the ${p(WORDS.noun)}`, `${p(WORDS.prep)} the ${p(WORDS.adj)} ${p(WORDS.noun)}`];
  if (rng.next() < 0.6) parts.push(`while a ${p(WORDS.noun)} ${p(WORDS.verb)} a ${p(WORDS.adj)} ${p(WORDS.noun)}`);
  return `${parts.join(' ')} ${p(WORDS.tail)}.`;
}

type Edit = 'swap' | 'punctuation' | 'case' | 'insert' | 'delete';
const EDITS: Edit[] = ['swap', 'punctuation', 'case', 'insert', 'delete'];

function edit(sentence: string, kind: Edit, rng: Rng): string {
  const w = sentence.split(' ');
  const i = rng.int(w.length - 1);
  switch (kind) {
    case 'swap':
      [w[i], w[i + 1]] = [w[i + 1]!, w[i]!];
      break;
    case 'punctuation':
      w[i] = `${w[i]!},`;
      w[w.length - 1] = w.at(-1)!.replace(/\.$/, rng.next() < 0.5 ? '!' : '');
      break;
    case 'case':
      return rng.next() < 0.5 ? sentence.toUpperCase() : sentence.toLowerCase();
    case 'insert':
      w.splice(i + 1, 0, WORDS.filler[rng.int(WORDS.filler.length)]!);
      break;
    case 'delete':
      w.splice(i + 1, 1);
      break;
  }
  return w.join(' ');
}

interface Planted {
  records: DatasetRecord[];
  group: Map<number, number>; // line → base group
  groups: number;
}

function plantedSet(seed: number, edits: number): Planted {
  const rng = new Rng(seed);
  const bases = new Set<string>();
  while (bases.size < 200) bases.add(baseSentence(rng));
  const rows: { text: string; group: number }[] = [];
  [...bases].forEach((b, g) => {
    rows.push({ text: b, group: g });
    const copies = 1 + rng.int(2);
    for (let c = 0; c < copies; c++) {
      let t = b;
      for (let e = 0; e < edits; e++) t = edit(t, EDITS[rng.int(EDITS.length)]!, rng);
      rows.push({ text: t, group: g });
    }
  });
  rng.shuffle(rows);
  const group = new Map<number, number>();
  const records = rows.map((r, i) => {
    group.set(i + 1, r.group);
    return text(r.text, i + 1, 'planted.jsonl');
  });
  return { records, group, groups: bases.size };
}

function score(p: Planted, config: DedupConfig = DEFAULT_DEDUP) {
  const r = dedupRecords(p.records, config);
  let tp = 0;
  let fp = 0;
  for (const c of r.clusters) {
    for (const d of c.duplicates) {
      if (p.group.get(d.source.line) === p.group.get(c.kept.line)) tp++;
      else fp++;
    }
  }
  const planted = p.records.length - p.groups;
  return { recall: tp / planted, precision: tp + fp === 0 ? 1 : tp / (tp + fp), planted, removed: tp + fp };
}

describe('near-duplicate recall and precision on a planted set', () => {
  it('one edit per copy (swap, punctuation, case, insert, delete) at the default threshold', () => {
    const p = plantedSet(2024, 1);
    const s = score(p);
    console.log(
      `planted near-duplicates (one edit): ${p.records.length} records, ${s.planted} planted copies of ${p.groups} bases; ` +
        `removed ${s.removed}; recall ${s.recall.toFixed(3)}, precision ${s.precision.toFixed(3)} ` +
        `(char 5-grams, threshold ${DEFAULT_NEAR_DUP.threshold}, ${DEFAULT_NEAR_DUP.numPerm} perms, LSH 20×6)`,
    );
    expect(s.recall).toBeGreaterThanOrEqual(0.9);
    expect(s.precision).toBeGreaterThanOrEqual(0.9);
  });

  it('two edits per copy (reported, not asserted: shows where the default threshold stops)', () => {
    const p = plantedSet(2025, 2);
    for (const t of [0.5, 0.6, 0.7]) {
      const s = score(p, { exact: true, near: { ...DEFAULT_NEAR_DUP, threshold: t } });
      console.log(`planted near-duplicates (two edits) threshold ${t}: recall ${s.recall.toFixed(3)}, precision ${s.precision.toFixed(3)}`);
    }
  });
});

// ---- speed on varied short records ---------------------------------------------------------

/** Pseudo-words from syllables, drawn with a Zipf-like skew, so texts share common words as real ones do. */
function variedRecords(n: number, seed: number): DatasetRecord[] {
  const rng = new Rng(seed);
  const syl = 'ka lo mi ne ru sa te vo di pa ge zu ri mo la ni fe bo tu ce'.split(' ');
  const vocab = Array.from({ length: 4000 }, () => Array.from({ length: 1 + rng.int(3) }, () => syl[rng.int(syl.length)]).join(''));
  const word = () => vocab[Math.floor(vocab.length * rng.next() ** 3)]!;
  const out: DatasetRecord[] = [];
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    let t: string;
    if (r < 0.1 && out.length > 0) t = (out[rng.int(out.length)]!.record as { text: string }).text.toUpperCase();
    else if (r < 0.2 && out.length > 0) t = `${(out[rng.int(out.length)]!.record as { text: string }).text} ${word()}`;
    else t = Array.from({ length: 8 + rng.int(22) }, word).join(' ') + '.';
    out.push(text(t, i + 1, 'speed.jsonl'));
  }
  return out;
}

describe('speed (printed, not asserted)', () => {
  it('100,000 varied short records through cleaning, exact and near de-duplication', () => {
    const input = variedRecords(100_000, 99);
    const t0 = performance.now();
    const cleaned = cleanRecords(input);
    const t1 = performance.now();
    const d = dedupRecords(cleaned.records);
    const t2 = performance.now();
    const s = (t2 - t0) / 1000;
    const exact = d.report.rules.find((r) => r.rule === 'exact-duplicate')!.removed;
    const near = d.report.rules.find((r) => r.rule === 'near-duplicate')!.removed;
    console.log(
      `speed: 100,000 varied short records: clean ${((t1 - t0) / 1000).toFixed(1)} s, dedup ${((t2 - t1) / 1000).toFixed(1)} s, ` +
        `${Math.round(100_000 / s)} records/s; removed ${exact} exact + ${near} near duplicates, kept ${d.records.length}`,
    );
    // ~10% exact (upper-cased) and ~10% one-word-longer copies were planted.
    expect(exact).toBeGreaterThan(8_000);
    expect(near).toBeGreaterThan(7_000);
  }, 300_000);
});
