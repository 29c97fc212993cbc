import { describe, expect, it } from 'vitest';
import { cleanRecords, DEFAULT_CLEAN } from '../../src/core/data/prepare/clean.ts';
import type { DatasetRecord, DataRecord } from '../../src/core/data/records.ts';

const rec = (record: DataRecord, line: number): DatasetRecord => ({ record, source: { file: 'hand.jsonl', line } });
const text = (t: string, line = 1) => rec({ kind: 'text', text: t }, line);
const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

describe('cleaning rules', () => {
  it('normalises Unicode, removes control characters and repairs whitespace, in many scripts and with emoji', () => {
    const input = [
      text('Cafe\u0301 au lait  \u0007 très   bon\t\t', 1), // decomposed é, bell, runs of spaces
      text('Привет,\u200b   мир! 👋🏽', 2), // zero-width space
      text('日本語の\r\n\r\n\r\n\r\nテキスト', 3),
      text('مرحبا    بالعالم', 4),
    ];
    const { records, report } = cleanRecords(input);
    expect(records.map((r) => (r.record as { text: string }).text)).toEqual(['Café au lait très bon', 'Привет, мир! 👋🏽', '日本語の\n\nテキスト', 'مرحبا بالعالم']);
    const byRule = Object.fromEntries(report.rules.map((r) => [r.rule, r]));
    expect(byRule['unicode-NFC']!.changed).toBe(1);
    expect(byRule['control-chars']!.changed).toBeGreaterThanOrEqual(1);
    expect(byRule['whitespace']!.changed).toBeGreaterThanOrEqual(3);
    expect(byRule['whitespace']!.examples[0]!.source).toEqual({ file: 'hand.jsonl', line: 1 });
  });

  it('removes empty records and reports each with its line', () => {
    const { records, report } = cleanRecords([text('   \n\t ', 7), text('kept', 8), rec({ kind: 'prompt', prompt: 'Q?', completion: '  ' }, 9)]);
    expect(records.length).toBe(1);
    const empty = report.rules.find((r) => r.rule === 'empty')!;
    expect(empty.removed).toBe(2);
    expect(empty.examples.map((e) => e.source.line)).toEqual([7, 9]);
  });

  it('repairs or removes broken chat structure', () => {
    const chat = (messages: { role: string; content: string }[], line: number) => rec({ kind: 'chat', messages }, line);
    const { records, report } = cleanRecords([
      chat([{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }, { role: 'assistant', content: 'c' }], 1),
      chat([{ role: 'user', content: 'q' }, { role: 'assistant', content: '' }], 2),
      chat([{ role: 'user', content: 'q' }, { role: 'assistant', content: 'ok' }], 3),
    ]);
    const rules = report.rules.filter((r) => r.rule.startsWith('chat.') && (r.changed || r.removed));
    expect(rules.length).toBeGreaterThan(0);
    expect(records.some((r) => r.source.line === 3)).toBe(true);
    expect(records.every((r) => r.record.kind !== 'chat' || r.record.messages.every((m) => m.content !== ''))).toBe(true);
    const first = records.find((r) => r.source.line === 1);
    if (first && first.record.kind === 'chat') expect(first.record.messages.filter((m) => m.role === 'user').length).toBe(1);
  });

  it('filters by script and by token length, each switchable', () => {
    const input = [text('An English sentence here.', 1), text('Полностью русское предложение.', 2), text('完全是中文的句子。', 3), text('one two', 4)];
    const latin = cleanRecords(input, { ...DEFAULT_CLEAN, scripts: { allowed: ['Latin'], minShare: 0.5 } });
    expect(latin.records.map((r) => r.source.line)).toEqual([1, 4]);
    const long = cleanRecords(input, { ...DEFAULT_CLEAN, length: { minTokens: 3 } }, { countTokens: words });
    expect(long.records.map((r) => r.source.line)).toEqual([1, 2]);
    expect(long.report.rules.find((r) => r.rule === 'length')!.removed).toBe(2);
    const off = cleanRecords(input, { ...DEFAULT_CLEAN, scripts: false, length: false });
    expect(off.records.length).toBe(4);
  });

  it('keeps only the chosen Latin-script languages when asked', () => {
    const input = [
      text('The quick brown fox jumps over the lazy dog and it is very happy with that.', 1),
      text('Le renard brun rapide saute par-dessus le chien paresseux et il est très content.', 2),
      text('Der schnelle braune Fuchs springt über den faulen Hund und er ist sehr froh.', 3),
    ];
    const { records } = cleanRecords(input, { ...DEFAULT_CLEAN, languages: { allowed: ['fr', 'de'], keepUnknown: true, minHits: 2, margin: 1.5 } });
    expect(records.map((r) => r.source.line)).toEqual([2, 3]);
  });
});
