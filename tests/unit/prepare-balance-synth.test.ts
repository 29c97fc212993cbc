import { describe, expect, it } from 'vitest';
import { balanceRecords, distribution } from '../../src/core/data/prepare/balance.ts';
import { parseQA, paraphrase, selfInstruct, synthesizeFromTemplates, type TextGenerator } from '../../src/core/data/prepare/synthesize.ts';
import { prepareDataset, DEFAULT_PREPARE } from '../../src/core/data/prepare/pipeline.ts';
import { renderReport } from '../../src/core/data/prepare/report.ts';
import type { DatasetRecord } from '../../src/core/data/records.ts';

const SENTENCES = ['the cat sat on the mat', 'dogs bark loudly at night', 'rain falls softly in spring', 'music fills the empty hall', 'stars shine above quiet hills', 'a train leaves at dawn'];
/** Records of each label; the texts differ enough not to be near duplicates of each other. */
const labelled = (n: Record<string, number>): DatasetRecord[] => {
  let k = 0;
  return Object.entries(n).flatMap(([label, count]) => Array.from({ length: count }, (_, i) => {
    const text = `${label}: ${SENTENCES[k % 6]} ${k >= 6 ? SENTENCES[(k * 5 + 1) % 6] : ''} (${k++})`;
    return { record: { kind: 'text' as const, text }, source: { file: 'l', line: i + 1 }, fields: { label } };
  }));
};

describe('balancing', () => {
  const data = labelled({ spam: 50, ham: 10, other: 3 });
  it('shows the distribution and caps, undersamples or oversamples each category, reproducibly', () => {
    expect(distribution(data, 'label')).toEqual({ spam: 50, ham: 10, other: 3 });
    expect(balanceRecords(data, { field: 'label', mode: 'cap', cap: 8, seed: 1 }).after).toEqual({ spam: 8, ham: 8, other: 3 });
    expect(balanceRecords(data, { field: 'label', mode: 'undersample', seed: 1 }).after).toEqual({ spam: 3, ham: 3, other: 3 });
    const over = balanceRecords(data, { field: 'label', mode: 'oversample', seed: 1 });
    expect(over.after).toEqual({ spam: 50, ham: 50, other: 50 });
    expect(over.records.filter((r) => r.generated?.method === 'oversample').length).toBe(87);
    expect(balanceRecords(data, { field: 'label', mode: 'cap', cap: 8, seed: 7 }).records).toEqual(balanceRecords(data, { field: 'label', mode: 'cap', cap: 8, seed: 7 }).records);
    expect(balanceRecords(data, { field: 'label', mode: 'cap', cap: 8, seed: 7 }).records).not.toEqual(balanceRecords(data, { field: 'label', mode: 'cap', cap: 8, seed: 8 }).records);
  });
});

describe('synthesis', () => {
  it('makes instruction pairs from structured rows with several phrasings, marked for review', () => {
    const rows = [{ country: 'France', capital: 'Paris' }, { country: 'Japan', capital: '東京' }, { country: 'Nowhere', capital: '' }];
    const out = synthesizeFromTemplates(rows, [{ questions: ['What is the capital of {country}?', 'Name the capital city of {country}.', '{country}: which city is the capital?'], answer: 'The capital of {country} is {capital}.' }], { seed: 3, perRow: 2 });
    expect(out.length).toBe(4);
    expect(out.every((r) => r.generated?.method === 'template' && r.generated.accepted === false)).toBe(true);
    const japan = out.filter((r) => r.record.kind === 'chat' && r.record.messages[1]!.content.includes('東京'));
    expect(japan.length).toBe(2);
    expect(new Set(japan.map((r) => (r.record.kind === 'chat' ? r.record.messages[0]!.content : ''))).size).toBe(2);
  });

  it('orchestrates self-instruct and paraphrasing with a generator', async () => {
    let calls = 0;
    const fake: TextGenerator = {
      async generate(prompt) {
        calls++;
        if (prompt.startsWith('Rewrite')) return 'Which city is the capital of France?\nmore';
        return ` What is the largest ocean number ${calls}?\nAnswer: The Pacific.\n\nQuestion: ignored`;
      },
    };
    const seeds: DatasetRecord[] = [{ record: { kind: 'prompt', prompt: 'What is the capital of France?', completion: 'Paris.' }, source: { file: 's', line: 1 } }];
    const made = await selfInstruct(fake, seeds, { count: 3, seed: 1 });
    expect(made.length).toBe(3);
    expect(made[0]!.record).toEqual({ kind: 'chat', messages: [{ role: 'user', content: 'What is the largest ocean number 1?' }, { role: 'assistant', content: 'The Pacific.' }] });
    expect(made.every((r) => r.generated?.method === 'self-instruct' && !r.generated.accepted)).toBe(true);
    const para = await paraphrase(fake, seeds, { seed: 1 });
    expect(para[0]!.record).toEqual({ kind: 'chat', messages: [{ role: 'user', content: 'Which city is the capital of France?' }, { role: 'assistant', content: 'Paris.' }] });
    expect(parseQA('Q: a\nA: b')).toEqual({ q: 'a', a: 'b' });
  });
});

describe('the preparation pipeline', () => {
  it('reports counts, lengths, clusters, flags and balance, without touching the input', async () => {
    const input: DatasetRecord[] = [
      ...labelled({ a: 4, b: 2 }),
      { record: { kind: 'text', text: 'A: the cat sat on the mat (0)' }, source: { file: 'l', line: 90 }, fields: { label: 'a' } },
      { record: { kind: 'text', text: 'write to me at joe@mail.com  ' }, source: { file: 'l', line: 91 }, fields: { label: 'b' } },
    ];
    const frozen = JSON.stringify(input);
    const r = await prepareDataset(input, { ...DEFAULT_PREPARE, balance: { field: 'label', mode: 'cap', cap: 2, seed: 1 } });
    expect(JSON.stringify(input)).toBe(frozen);
    expect(r.report.input).toBe(8);
    expect(r.report.duplicates!.clusterCount).toBe(1);
    expect(r.report.flagCounts).toEqual({ email: 1 });
    expect(r.report.balance!.after).toEqual({ a: 2, b: 2 });
    const text = renderReport(r.report);
    expect(text).toContain('duplicate clusters: 1');
    expect(text).toContain('l:91');
    expect(text).toContain('balance by label');
  });

  // The records/s figure is the bench's (npm run bench); this checks the behaviour at size.
  it('handles 20,000 short records with exact copies', async () => {
    const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu'.split(' ');
    const input: DatasetRecord[] = Array.from({ length: 20_000 }, (_, i) => ({
      record: { kind: 'prompt', prompt: `Question ${i % 14_000}: ${words[i % 12]} ${words[(i * 7) % 12]} ${words[(i * 5) % 12]}?`, completion: ` Answer ${i % 14_000}.` },
      source: { file: 'big', line: i + 1 },
    }));
    const r = await prepareDataset(input, { clean: DEFAULT_PREPARE.clean, dedup: DEFAULT_PREPARE.dedup, review: false, balance: false }, { yieldEvery: 5000 });
    expect(r.records.length).toBeLessThanOrEqual(14_000);
    expect(r.records.length).toBeGreaterThan(0);
  });
});
