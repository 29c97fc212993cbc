import { describe, expect, it } from 'vitest';
import { configFromForm, prepareDataset, type PrepareForm } from '../../src/core/data/prepare/pipeline.ts';
import { preferenceData, preferenceImport } from '../../src/core/workspace/preference-import.ts';

/** The app's Prepare form with only the personal-data rule on. */
const form = (pii: 'mask' | 'flag'): PrepareForm => ({
  clean: false, minTokens: 0, maxTokens: 0, scripts: '', exactDedup: false, nearDedup: false, nearThreshold: 0.8, pii,
  blocklist: '', blocklistAction: 'flag', balanceField: '', balanceMode: 'none', balanceCap: 0, seed: 1,
});

const MAIL = 'jane.doe@example.com';
const PHONE = '+1 415 555 0132';
const lines = [
  { prompt: `Mail ${MAIL}?`, chosen: `Yes, ${MAIL}.`, rejected: `Call ${PHONE} instead.` },
  {
    prompt: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: `I am at 192.168.1.20, ${MAIL}` }],
    chosen: [{ role: 'assistant', content: 'Noted.' }],
    rejected: [{ role: 'assistant', content: `Your IP 192.168.1.20 and ${PHONE}` }],
  },
];
const kto = [{ prompt: 'Who?', completion: `Reach ${MAIL} or ${PHONE}`, label: false }];
const jsonl = (rows: readonly object[]) => new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join('\n'));

describe('personal data in preference datasets', () => {
  it('masks every text field of a pair: prompt, chosen, rejected and every message of a conversation', async () => {
    const imported = preferenceImport('pairs.jsonl', jsonl(lines))!;
    const r = await prepareDataset(imported.records, configFromForm(form('mask')));
    const pairs = preferenceData(r.records).pairs;
    expect(pairs).toHaveLength(2);
    const all = JSON.stringify(pairs.map(({ prompt, chosen, rejected }) => ({ prompt, chosen, rejected })));
    expect(all).not.toContain(MAIL);
    expect(all).not.toContain('415 555');
    expect(all).not.toContain('192.168.1.20');
    expect(pairs[0]).toMatchObject({ prompt: 'Mail [EMAIL]?', chosen: 'Yes, [EMAIL].', rejected: 'Call [PHONE] instead.' });
    expect(pairs[1]!.prompt).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'I am at [IP], [EMAIL]' }]);
    expect(pairs[1]!.rejected).toEqual([{ role: 'assistant', content: 'Your IP [IP] and [PHONE]' }]);
    // What the preview shows (prompt + chosen) is masked alike.
    expect(JSON.stringify(r.records.map((x) => x.record))).not.toContain(MAIL);
  });

  it('reports each hit once with where it is, the rejected answer included', async () => {
    const imported = preferenceImport('pairs.jsonl', jsonl(lines))!;
    const r = await prepareDataset(imported.records, configFromForm(form('flag')));
    const flags = r.report.flags.map((f) => `${f.source.line} ${f.location} ${f.kind}`);
    expect(flags).toEqual(expect.arrayContaining(['1 prompt email', '1 completion email', '1 rejected phone', '2 rejected[0].content ip',
      '2 rejected[0].content phone']));
    // The prompt's email is shown by the record and held in the fields: counted once.
    expect(flags.filter((f) => f === '1 prompt email')).toHaveLength(1);
    expect(preferenceData(r.records).pairs[0]!.rejected).toBe(`Call ${PHONE} instead.`);
  });

  it('masks a KTO completion', async () => {
    const imported = preferenceImport('kto.jsonl', jsonl(kto))!;
    const r = await prepareDataset(imported.records, configFromForm(form('mask')));
    expect(preferenceData(r.records).unpaired).toMatchObject([{ prompt: 'Who?', completion: 'Reach [EMAIL] or [PHONE]', label: false }]);
  });
});
