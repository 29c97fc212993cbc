/**
 * GRPO runs on workspace datasets: a dataset's records become the CLI's GRPO prompt format (chat
 * turns before the answer, the answer as a column, other columns kept, records without a prompt
 * reported by their own line), and the app's settings are checked before a run is created.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importDataset } from '../../src/core/data/import.ts';
import { parseGrpoPrompts } from '../../src/core/data/grpo-prompts.ts';
import { grpoPromptLines, grpoRunSettings } from '../../src/core/workspace/grpo-runs.ts';

const DEMO = new URL('../../public/datasets/demo-grounded-qa.jsonl', import.meta.url);

describe('grpoPromptLines', () => {
  it('turns the demo data into prompts with their answer column, as the CLI reads the same file', () => {
    const bytes = readFileSync(DEMO);
    const { records } = importDataset('demo-grounded-qa.jsonl', bytes);
    const { text, problems } = grpoPromptLines(records);
    expect(problems).toEqual([]);
    const fromDataset = parseGrpoPrompts('demo-grounded-qa.jsonl', text);
    const fromFile = parseGrpoPrompts('demo-grounded-qa.jsonl', bytes.toString('utf8'));
    expect(fromDataset.problems).toEqual([]);
    expect(fromDataset.records.length).toBe(fromFile.records.length);
    expect(fromDataset.records.map((r) => [r.prompt, r.fields])).toEqual(fromFile.records.map((r) => [r.prompt, r.fields]));
    expect(fromDataset.records[0]!.fields).toMatchObject({ answer: 'Europe', category: 'region' });
  });

  it('keeps a prompt record\'s completion as its answer, and reports records without a prompt at their line', () => {
    const file = [
      JSON.stringify({ prompt: 'Name a colour.', completion: 'red', topic: 'colours' }),
      'just some text for pre-training',
    ].join('\n');
    const { records } = importDataset('mixed.txt', file);
    const mixed = [
      ...importDataset('p.jsonl', file.split('\n')[0]!).records,
      { ...records[0]!, source: { file: 'notes.txt', line: 7 } },
    ];
    const { text, problems } = grpoPromptLines(mixed);
    expect(problems).toEqual([{ source: { file: 'notes.txt', line: 7 }, reason: 'a text record has no prompt for GRPO' }]);
    const parsed = parseGrpoPrompts('p.jsonl', text);
    expect(parsed.records.map((r) => [r.prompt, r.fields])).toEqual([['Name a colour.', { answer: 'red', topic: 'colours' }]]);
    expect(parsed.problems.map((p) => p.source.line)).toEqual([2]);
  });
});

describe('grpoRunSettings', () => {
  const reward = { name: 'format.js', source: 'module.exports = () => 1;' };

  it('fills TRL\'s defaults for what the app leaves out', () => {
    expect(grpoRunSettings({ options: { generations: 4 }, reward, timeoutMs: 1000 }).options)
      .toEqual({ generations: 4, beta: 0, epsilon: 0.2, temperature: 1, maxCompletionLength: 32 });
  });

  it('refuses an empty reward, a bad time limit and bad options with one line each', () => {
    expect(() => grpoRunSettings({ options: {}, reward: { name: 'my-reward.js', source: '  ' }, timeoutMs: 1000 }))
      .toThrow('GRPO needs a reward function: write one or pick an example');
    expect(() => grpoRunSettings({ options: {}, reward, timeoutMs: 0 })).toThrow('the reward time limit must be a whole number of ms ≥ 1, got 0');
    expect(() => grpoRunSettings({ options: { generations: 1 }, reward, timeoutMs: 1000 })).toThrow('generations must be an integer of at least 2, got 1');
  });
});
