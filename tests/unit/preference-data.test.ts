import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeCompletion, extractPrompt, parsePreferenceDataset, tokenizePreferences } from '../../src/core/data/preference.ts';
import { IGNORE } from '../../src/core/data/tokenize.ts';
import { parseDataset } from '../../src/core/data/import.ts';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { preferenceRows } from '../../src/core/train/preference/rows.ts';

const DEMO = fileURLToPath(new URL('../../public/models/demo-base', import.meta.url));
let tok: Tokenizer;
beforeAll(async () => {
  tok = await Tokenizer.fromTree(nodeFileTree(DEMO));
});

const jsonl = (...rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');
const trainedText = (e: { inputIds: number[]; labels: number[] }) => tok.decode(e.inputIds.filter((_, k) => e.labels[k] !== IGNORE));
const user = (content: string) => ({ role: 'user', content });
const assistant = (content: string) => ({ role: 'assistant', content });

describe('preference data import', () => {
  it('reads standard, conversational and implicit-prompt pairs, and reports bad rows by line and reason', () => {
    const text = jsonl(
      { prompt: 'Where is Peru?', chosen: ' In South America.', rejected: ' In Europe.' },
      { prompt: [user('Where is Peru?')], chosen: [assistant('In South America.')], rejected: [assistant('In Europe.')] },
      { chosen: [user('Capital of Peru?'), assistant('Lima.')], rejected: [user('Capital of Peru?'), assistant('Quito.')] },
      { prompt: 'x', chosen: 'same', rejected: 'same' },
      { prompt: 'x', chosen: [assistant('a')], rejected: 'b' },
      '{"prompt": "broken json',
      { prompt: 'x', chosen: 'a' },
      { text: 'not a preference row' },
      { prompt: 'p', completion: 'c', label: true },
      { chosen: [user('q'), assistant('a')], rejected: [user('q'), assistant('a')] },
    );
    const r = parsePreferenceDataset('prefs.jsonl', text);
    expect(r.kind).toBe('paired');
    expect(r.pairs.map((p) => p.source.line)).toEqual([1, 2, 3]);
    expect(r.pairs[2]!.prompt).toEqual([user('Capital of Peru?')]);
    expect(r.pairs[2]!.chosen).toEqual([assistant('Lima.')]);
    const reasons = r.problems.map((p) => `${p.source.line}: ${p.reason}`);
    expect(reasons).toHaveLength(7);
    expect(reasons[0]).toMatch(/^4: chosen and rejected are identical/);
    expect(reasons[1]).toMatch(/^5: .*all be strings or all message lists/);
    expect(reasons[2]).toMatch(/^6: /);
    expect(reasons[3]).toMatch(/^7: "rejected" must be a string or a list of messages/);
    expect(reasons[4]).toMatch(/^8: has neither "chosen"\/"rejected"/);
    expect(reasons[5]).toMatch(/^9: is an unpaired \(KTO\) row in a file of paired rows/);
    expect(reasons[6]).toMatch(/^10: chosen and rejected are identical/);
  });

  it('reads KTO examples (JSONL and CSV labels) and rejects labels that are not booleans', () => {
    const r = parsePreferenceDataset('kto.jsonl', jsonl(
      { prompt: 'Where is Peru?', completion: ' In South America.', label: true },
      { prompt: 'Where is Peru?', completion: ' In Europe.', label: false },
      { prompt: 'Where is Peru?', completion: ' Maybe.', label: 'yes' },
    ));
    expect(r.kind).toBe('unpaired');
    expect(r.unpaired.map((u) => u.label)).toEqual([true, false]);
    expect(r.problems.map((p) => [p.source.line, p.reason])).toEqual([[3, '"label" must be true or false, got "yes"']]);
    const csv = parsePreferenceDataset('kto.csv', 'prompt,completion,label\nWhere?,Here.,TRUE\nWhere?,There.,false\n');
    expect(csv.unpaired.map((u) => u.label)).toEqual([true, false]);
  });

  it('the SFT import names a preference pair as such', () => {
    const r = parseDataset('p.jsonl', jsonl({ prompt: 'q', chosen: 'a', rejected: 'b' }));
    expect(r.problems.map((p) => p.reason)).toEqual(['is a preference pair (chosen/rejected): it trains with DPO, ORPO or SimPO (--method dpo), not SFT']);
  });

  it('takes the shared prefix of two texts as the prompt, as TRL does', () => {
    const r = extractPrompt('The sky is blue.', 'The sky is green.');
    expect(r).toEqual({ ok: true, value: { prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' } });
  });
});

describe('preference tokenization', () => {
  it('trains only the completion: text prompts with EOS, chat prompts through the template', () => {
    const text = encodeCompletion('Where is Peru?', ' In South America.', tok);
    if (!text.ok) throw new Error(text.reason);
    expect(trainedText(text.value)).toBe(' In South America.<|endoftext|>');
    const chat = encodeCompletion([user('Where is Peru?')], [assistant('In South America.')], tok);
    if (!chat.ok) throw new Error(chat.reason);
    expect(trainedText(chat.value)).toBe('In South America.<|im_end|>');
    expect(tok.decode(chat.value.inputIds)).toContain('Where is Peru?');
  });

  it('does not train assistant turns inside a multi-turn prompt', () => {
    const prompt = [user('Capital of Peru?'), assistant('Lima.'), user('And of Chile?')];
    const r = encodeCompletion(prompt, [assistant('Santiago.')], tok);
    if (!r.ok) throw new Error(r.reason);
    expect(trainedText(r.value)).toBe('Santiago.<|im_end|>');
  });

  it('lays pairs out as chosen/rejected rows of one length, and reports pairs cut away by the limit', () => {
    const data = parsePreferenceDataset('p.jsonl', jsonl(
      { prompt: 'Where is Peru?', chosen: ' In South America.', rejected: ' In Europe.' },
      { prompt: 'A very long prompt that uses up every token of the limit and then some more words', chosen: ' yes', rejected: ' no' },
    ));
    const t = tokenizePreferences(data, tok, 12);
    expect(t.pairs).toHaveLength(1);
    expect(t.problems.map((p) => p.source.line)).toEqual([2, 2]);
    expect(t.problems[0]!.reason).toMatch(/^chosen: the prompt leaves no completion token within the 12-token limit/);
    const { rows, roles } = preferenceRows(t, 'dpo', 12, 0);
    expect(roles).toEqual(['chosen', 'rejected']);
    expect(rows.every((r) => r.inputIds.length === 12 && r.labels.length === 12)).toBe(true);
    expect(() => preferenceRows(t, 'kto', 12, 0)).toThrow(/KTO trains on/);
  });
});
