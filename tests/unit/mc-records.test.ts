import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { DEFAULT_MC_TEMPLATE, encodePair, judgeQuestion, mcRequests, renderContext, summarize } from '../../src/core/eval/multiple-choice.ts';
import { MAX_CHOICES, parseFieldMap, parseMcFile } from '../../src/core/eval/mc-records.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { expectInputError } from './expect-input-error.ts';

const line = (o: unknown) => JSON.stringify(o);

describe('multiple-choice records', () => {
  it('reads the plain form and the common harness exports', () => {
    const text = [
      line({ question: 'q1', choices: ['a', 'b'], answer: 1 }),
      '',
      line({ ctx: 'q2', endings: ['a', 'b', 'c'], label: '2' }),
      line({ question: 'q3', choices: { text: ['x', 'y'], label: ['A', 'B'] }, answerKey: 'B' }),
      line({ query: 'q4', choices: ['x', 'y', 'z'], gold: 0 }),
      line({ question: 'q5', choices: ['x', 'y', 'z'], answer: 'C' }),
    ].join('\n');
    const rs = parseMcFile(text, 'b.jsonl');
    expect(rs.map((r) => [r.line, r.question, r.choices.length, r.answer])).toEqual([[1, 'q1', 2, 1], [3, 'q2', 3, 2], [4, 'q3', 2, 1], [5, 'q4', 3, 0], [6, 'q5', 3, 2]]);
    expect(parseMcFile(`[${line({ question: 'q', choices: ['a'], answer: 0 })}]`, 'a.json')[0]!.line).toBe(1);
  });

  it('maps fields with --fields', () => {
    const map = parseFieldMap('question=stem, choices=opts ,answer=key');
    const [r] = parseMcFile(line({ stem: 's', opts: ['a', 'b'], key: 1, question: 'ignored' }), 'm.jsonl', map);
    expect([r!.question, r!.answer]).toEqual(['s', 1]);
    expectInputError(() => parseFieldMap('prompt=x'), '--fields', undefined, /question=FIELD/);
  });

  it('refuses hostile records with one clear line each', () => {
    const one = (o: unknown) => () => parseMcFile(`${line({ question: 'ok', choices: ['a'], answer: 0 })}\n${line(o)}`, 'h.jsonl');
    expectInputError(one({ question: 'q', choices: [], answer: 0 }), 'h.jsonl', 'line 2', /"choices" is empty/);
    expectInputError(one({ question: 'q', choices: ['a', 'b'], answer: 2 }), 'h.jsonl', 'line 2', /answer" 2 is outside the 2 choices \(0-1\)/);
    expectInputError(one({ question: 'q', choices: ['a', 'b'], answer: -1 }), 'h.jsonl', 'line 2', /outside the 2 choices/);
    expectInputError(one({ question: 'q', choices: ['a', 'b'], answer: 'maybe' }), 'h.jsonl', 'line 2', /"maybe" is not a choice index or label/);
    const many = Array.from({ length: 10_000 }, (_, i) => `c${i}`);
    expectInputError(one({ question: 'q', choices: many, answer: 0 }), 'h.jsonl', 'line 2', new RegExp(`10000 choices; at most ${MAX_CHOICES}`));
    expectInputError(one({ question: 'x'.repeat(1 << 20), choices: ['a'], answer: 0 }), 'h.jsonl', 'line 2', /1048576 characters; at most 100000/);
    expectInputError(one({ question: 'q', choices: ['a', 3], answer: 0 }), 'h.jsonl', 'line 2', /choice 1 is not a string/);
    expectInputError(one({ choices: ['a'], answer: 0 }), 'h.jsonl', 'line 2', /no question field/);
    expectInputError(() => parseMcFile('{"question": "q",', 'h.jsonl'), 'h.jsonl', 'line 1', /not valid JSON/);
    expectInputError(() => parseMcFile('\n\n', 'h.jsonl'), 'h.jsonl', undefined, /no multiple-choice records/);
  });
});

describe('harness requests', () => {
  it('splits context and continuation as lm-evaluation-harness does', async () => {
    const tok = await Tokenizer.fromTree(nodeFileTree(join(__dirname, '../fixtures/hf/tokenizers/gpt2')));
    const p = encodePair(tok, 'Question: Where?\nAnswer:', ' Paris');
    expect(p.context).toEqual(tok.encode('Question: Where?\nAnswer:'));
    expect(p.continuation).toEqual(tok.encode(' Paris'));
    // A context ending in spaces hands them to the continuation before encoding.
    const s = encodePair(tok, 'Answer: ', 'Paris');
    expect(s.context).toEqual(tok.encode('Answer:'));
    expect(s.continuation).toEqual(tok.encode('Answer: Paris').slice(tok.encode('Answer:').length));
    // When the boundary merges, the continuation is whatever follows the context's token count.
    const m = encodePair(tok, 'bas', 'eball');
    expect(m.continuation).toEqual(tok.encode('baseball').slice(tok.encode('bas').length));
  });

  it('renders templates and refuses what does not fit', async () => {
    const tok = await Tokenizer.fromTree(nodeFileTree(join(__dirname, '../fixtures/hf/tokenizers/gpt2')));
    const [r] = parseMcFile(line({ question: 'Why?', choices: ['a', 'b'], answer: 0, topic: 'x' }), 'd.jsonl');
    expect(renderContext(DEFAULT_MC_TEMPLATE, r!)).toBe('Question: Why?\nAnswer:');
    expect(renderContext('[{topic}] {question}', r!)).toBe('[x] Why?');
    expectInputError(() => renderContext('{nope}', r!, 'd.jsonl'), 'd.jsonl', 'line 1', /\{nope\}/);
    const seqs = mcRequests(tok, [r!], { maxPositions: 64 });
    expect(seqs).toHaveLength(2);
    expect(seqs[0]!.labels.filter((l) => l >= 0)).toEqual(tok.encode(' a'));
    expectInputError(() => mcRequests(tok, [r!], { maxPositions: 5, file: 'd.jsonl' }), 'd.jsonl', 'line 1', /more than the model's 5 positions/);
    expectInputError(() => mcRequests(tok, [r!], { maxPositions: 64, template: '  ', file: 'd.jsonl' }), 'd.jsonl', 'line 1', /context is empty/);
  });

  it('acc takes the best sum, acc_norm the best sum per character', () => {
    const [r] = parseMcFile(line({ question: 'q', choices: ['ab', 'abcdefgh', 'abc'], answer: 1 }), 'd.jsonl');
    // per char of " "+choice: -3/3=-1, -6/9=-0.667, -2.5/4=-0.625
    const q = judgeQuestion(0, r!, [-3, -6, -2.5]);
    expect([q.pred, q.predNorm]).toEqual([2, 2]);
    const t = judgeQuestion(1, r!, [-2, -4, -3]);
    expect([t.pred, t.predNorm]).toEqual([0, 1]);
    const tie = judgeQuestion(2, r!, [-1, -1, -1]);
    // Equal sums: acc keeps the first; per character the longest continuation wins.
    expect([tie.pred, tie.predNorm]).toEqual([0, 1]);
    expect(summarize([q, t, tie])).toEqual({ n: 3, acc: 0, accNorm: 2 / 3 });
  });
});
