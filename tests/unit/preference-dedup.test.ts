import { describe, expect, it } from 'vitest';
import { configFromForm, prepareDataset, type PrepareForm } from '../../src/core/data/prepare/pipeline.ts';
import { preferenceData, preferenceImport } from '../../src/core/workspace/preference-import.ts';

const form: PrepareForm = {
  clean: false, minTokens: 0, maxTokens: 0, scripts: '', exactDedup: true, nearDedup: true, nearThreshold: 0.7, pii: 'off',
  blocklist: '', blocklistAction: 'flag', balanceField: '', balanceMode: 'none', balanceCap: 0, seed: 1,
};
const jsonl = (rows: readonly object[]) => new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join('\n'));

describe('duplicates across preference pairs in the app\'s Prepare', () => {
  it('compares whole pairs: the same prompt and chosen answer with another rejected answer is kept', async () => {
    const rows = [
      { prompt: 'Which region is Chad in?', chosen: 'Africa', rejected: 'Europe' },
      { prompt: 'Which region is Chad in?', chosen: 'Africa', rejected: 'South America' },
      { prompt: 'Which region is Chad in?', chosen: 'Africa', rejected: 'Europe' },
    ];
    const r = await prepareDataset(preferenceImport('p.jsonl', jsonl(rows))!.records, configFromForm(form));
    expect(preferenceData(r.records).pairs.map((p) => [p.rejected, p.source.line])).toEqual([['Europe', 1], ['South America', 2]]);
  });

  it('compares KTO examples with their label', async () => {
    const rows = [
      { prompt: 'Q', completion: 'an answer', label: true },
      { prompt: 'Q', completion: 'an answer', label: false },
      { prompt: 'Q', completion: 'an answer', label: true },
    ];
    const r = await prepareDataset(preferenceImport('k.jsonl', jsonl(rows))!.records, configFromForm(form));
    expect(preferenceData(r.records).unpaired.map((u) => u.source.line)).toEqual([1, 2]);
  });
});
