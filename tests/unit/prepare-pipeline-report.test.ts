import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import type { DatasetRecord } from '../../src/core/data/records.ts';
import { DEFAULT_CLEAN } from '../../src/core/data/prepare/clean.ts';
import { DEFAULT_PREPARE, prepareDataset, type PrepareConfig } from '../../src/core/data/prepare/pipeline.ts';
import { renderReport } from '../../src/core/data/prepare/report.ts';

const fixture = (p: string) => fileURLToPath(new URL(`../fixtures/hf/tokenizers/gpt2/${p}`, import.meta.url));
const gpt2 = Tokenizer.fromJson(JSON.parse(readFileSync(fixture('tokenizer.json'), 'utf8')), 'gpt2/tokenizer.json', {
  config: JSON.parse(readFileSync(fixture('tokenizer_config.json'), 'utf8')),
});
const countTokens = (t: string) => gpt2.encode(t).length;

const row = (text: string, line: number, topic?: string): DatasetRecord => ({
  record: { kind: 'text', text },
  source: { file: 'mix.jsonl', line },
  ...(topic ? { fields: { topic } } : {}),
});

/** A small multilingual set with one of everything the steps look for. */
const INPUT: DatasetRecord[] = [
  row('The museum opens at nine and closes at six on weekdays.', 1, 'travel'),
  row('the museum opens at nine and closes at six on weekdays', 2, 'travel'), // near duplicate of 1
  row('Le musée ouvre à neuf heures et ferme à dix-huit heures en semaine.', 3, 'travel'),
  row('Das Museum öffnet um neun Uhr und schließt um achtzehn Uhr.', 4, 'travel'),
  row('Музей открывается в девять часов утра и закрывается в шесть.', 5, 'travel'),
  row('博物馆早上九点开门，下午六点关门。', 6, 'travel'),
  row('美術館は朝九時に開館し、午後六時に閉館します。', 7, 'travel'),
  row('يفتح المتحف في التاسعة صباحا ويغلق في السادسة مساء.', 8, 'travel'),
  row('Write to the curator at curator@museum.example for group visits 🎟️.', 9, 'contact'),
  row('   \u200b  ', 10, 'contact'), // empty after cleaning
  row('Tickets cost 12 € for adults and 6 € for children under 12.', 11, 'prices'),
];

const CONFIG: PrepareConfig = {
  ...DEFAULT_PREPARE,
  clean: { ...DEFAULT_CLEAN, length: { minTokens: 3 } },
  balance: { field: 'topic', mode: 'cap', cap: 3, seed: 5 },
};

describe('prepareDataset with a real tokenizer', () => {
  it('runs the enabled steps in order and reports each one', async () => {
    const frozen = JSON.stringify(INPUT);
    const steps: string[] = [];
    const r = await prepareDataset(INPUT, CONFIG, { countTokens, onProgress: (s, d, t) => d === t && steps.push(s), validation: [row('Tickets cost 12 € for adults, and 6 € for children under 12!', 1), row('Das Museum ist montags geschlossen.', 2)] });
    expect(JSON.stringify(INPUT)).toBe(frozen);
    expect(steps).toEqual(['clean', 'dedup', 'review', 'balance']);
    expect(r.report.steps.map((s) => [s.step, s.before, s.after])).toEqual([
      ['clean', 11, 10],
      ['dedup', 10, 9],
      ['review', 9, 9],
      ['balance', 9, 5],
    ]);
    expect(r.report.input).toBe(11);
    expect(r.report.output).toBe(r.records.length);
    expect(r.report.duplicates!.clusters.map((c) => [c.kept.line, c.duplicates.map((d) => d.source.line)])).toEqual([[1, [2]]]);
    expect(r.report.flags.map((f) => [f.source.line, f.kind])).toEqual([[9, 'email']]);
    expect(r.report.balance!.after).toEqual({ travel: 3, contact: 1, prices: 1 });
    // Leakage is checked against the prepared training records (after balancing).
    expect(r.report.leakage!.leaked.map((l) => [l.validation.line, l.train.line])).toEqual([[1, 11]]);
    expect(r.report.leakage!.checked).toBe(2);
    expect(r.report.lengths.before.unit).toBe('tokens');
    expect(r.report.lengths.before.counts.reduce((a, b) => a + b, 0)).toBe(11);
    expect(r.report.lengths.after.counts.reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('gives the same records again for the same input and config, and a JSON-serialisable report', async () => {
    const a = await prepareDataset(INPUT, CONFIG, { countTokens });
    const b = await prepareDataset(INPUT, CONFIG, { countTokens });
    expect(b.records).toEqual(a.records);
    expect(JSON.parse(JSON.stringify(a.report))).toEqual(a.report);
    expect(JSON.parse(JSON.stringify(CONFIG))).toEqual(CONFIG);
  });

  it('renders a readable plain-text report', async () => {
    const { report } = await prepareDataset(INPUT, CONFIG, { countTokens });
    const text = renderReport(report);
    console.log(text);
    expect(text).toContain('records: 11 → 5');
    expect(text).toContain('clean: 11 → 10');
    expect(text).toMatch(/empty: 0 changed, 1 removed\n\s+mix\.jsonl:10/);
    expect(text).toContain('kept mix.jsonl:1; removed mix.jsonl:2');
    expect(text).toMatch(/mix\.jsonl:9 text: email/);
    expect(text).not.toContain('curator@museum.example');
    expect(text).toContain('balance by topic:');
    expect(text).toContain('lengths before (tokens');
  });
});
