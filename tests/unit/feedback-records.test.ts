import { describe, expect, it } from 'vitest';
import { FeedbackLog, feedbackJsonl, feedbackRecord, type RatedAnswer } from '../../src/core/workspace/feedback.ts';
import { feedbackOn, feedbackRows } from '../../src/core/workspace/feedback-datasets.ts';
import { preferenceData, preferenceImport } from '../../src/core/workspace/preference-import.ts';
import { MemoryStore } from '../../src/core/workspace/store.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const answer = (id: string, completion: string, adapter: string | null = 'run-a', prompt: RatedAnswer['prompt'] = 'Q: 2+2?'): RatedAnswer =>
  ({ id, prompt, completion, adapter });

describe('playground feedback records', () => {
  it('are the serve log records: a pick keeps both answers and both runs, an edit the rewrite', () => {
    const t = new Date('2026-12-02T21:00:00Z');
    const pick = feedbackRecord({ action: 'pick', better: answer('a', '4', 'run-b'), worse: answer('b', '5') }, t);
    expect(pick).toEqual({
      type: 'feedback', time: '2026-12-02T21:00:00.000Z', action: 'pick', id: 'b', adapter: 'run-a', prompt: 'Q: 2+2?',
      completion: '5', rating: null, preferred: '4', preferred_adapter: 'run-b',
    });
    expect(feedbackRecord({ action: 'edit', answer: answer('c', '5'), preferred: '4' }, t)).toMatchObject({ rating: null, preferred: '4' });
    expect(feedbackRecord({ action: 'rating', answer: answer('c', '5'), rating: -1 }, t)).toMatchObject({ rating: -1, preferred: null });
  });

  it('refuses feedback that cannot become training data, saying why', () => {
    expect(() => feedbackRecord({ action: 'pick', better: answer('a', '4'), worse: answer('b', '4') })).toThrow(/same text/);
    expect(() => feedbackRecord({ action: 'pick', better: answer('a', '4'), worse: answer('b', '5', null, 'Q: 3+3?') })).toThrow(/same prompt/);
    expect(() => feedbackRecord({ action: 'edit', answer: answer('a', '4'), preferred: '  ' })).toThrow(/edited answer is empty/);
    expect(() => feedbackRecord({ action: 'rating', answer: answer('a', '4', null, []), rating: 1 })).toThrow(/needs the prompt/);
  });

  it('are kept oldest first, filtered by run (a pick counts for both runs), and make TRL rows', async () => {
    const log = new FeedbackLog(new MemoryStore());
    await log.add({ action: 'rating', answer: answer('x', '5'), rating: -1 });
    await log.add({ action: 'edit', answer: answer('x', '5'), preferred: '4' });
    await log.add({ action: 'pick', better: answer('y', '4', null), worse: answer('z', 'five', 'run-a') });
    const all = await log.list();
    expect(all.map((r) => r.action)).toEqual(['rating', 'edit', 'pick']);
    expect(feedbackOn(all, 'run-a')).toHaveLength(3);
    expect(feedbackOn(all, null)).toHaveLength(1);
    expect(feedbackOn(all, 'run-b')).toHaveLength(0);
    // The rating and the edit of one answer merge (latest wins), as the CLI's reader does.
    expect(feedbackRows(all, 'preference')).toEqual([
      { prompt: 'Q: 2+2?', chosen: '4', rejected: '5' },
      { prompt: 'Q: 2+2?', chosen: '4', rejected: 'five' },
    ]);
    expect(feedbackRows(all, 'kto')).toContainEqual({ prompt: 'Q: 2+2?', completion: '5', label: false });
    const lines = new TextDecoder().decode(feedbackJsonl(all)).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).action)).toEqual(['rating', 'edit', 'pick']);
    await log.clear();
    expect(await log.list()).toEqual([]);
  });
});

describe('preference files as workspace datasets', () => {
  it('reads pairs and KTO examples, shows the chosen answer, keeps the whole row for training', () => {
    const pairs = preferenceImport('p.jsonl', enc('{"prompt":"Q","chosen":"A","rejected":"B"}\n{"prompt":"Q","chosen":"A"}\n'))!;
    expect(pairs.preference).toBe('paired');
    expect(pairs.records).toHaveLength(1);
    expect(pairs.records[0]!.record).toEqual({ kind: 'prompt', prompt: 'Q', completion: 'A' });
    expect(pairs.problems[0]!.source.line).toBe(2);
    expect(preferenceData(pairs.records).pairs).toEqual([{ prompt: 'Q', chosen: 'A', rejected: 'B', source: { file: 'p.jsonl', line: 1 } }]);

    const chat = [{ role: 'user', content: 'hi' }];
    const kto = preferenceImport('k.jsonl', enc(`${JSON.stringify({ prompt: chat, completion: [{ role: 'assistant', content: 'yo' }], label: false })}\n`))!;
    expect(kto.preference).toBe('unpaired');
    expect(kto.records[0]!.record).toEqual({ kind: 'chat', messages: [...chat, { role: 'assistant', content: 'yo' }] });
    expect(preferenceData(kto.records).unpaired[0]!.label).toBe(false);
  });

  it('leaves SFT files (prompt/completion without labels, chat, text) to the SFT import', () => {
    expect(preferenceImport('s.jsonl', enc('{"prompt":"Q","completion":"A"}\n'))).toBeNull();
    expect(preferenceImport('c.jsonl', enc('{"messages":[{"role":"user","content":"hi"}]}\n'))).toBeNull();
    expect(preferenceImport('t.txt', enc('plain text\n'))).toBeNull();
    expect(preferenceImport('bad.jsonl', new Uint8Array([0xff, 0xfe, 0x00]))).toBeNull();
  });
});
