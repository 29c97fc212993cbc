import { describe, expect, it } from 'vitest';
import { contentWords, coverage } from '../../src/core/eval/content-words.ts';
import { groundedMetrics, groundedPrompt, parseGroundedFile } from '../../src/core/eval/grounded.ts';
import type { TextScorer } from '../../src/core/eval/text-scorer.ts';
import { expectInputError } from './expect-input-error.ts';

/**
 * A hand-made copying language model: each word of the continuation has probability 1/2 when it
 * appears earlier in the context and 1/1000 otherwise. Its log-likelihoods are known exactly.
 */
const copyingModel: TextScorer = async (pairs) => pairs.map(({ context, continuation }) => {
  const seen = new Set(context.toLowerCase().match(/\w+/g) ?? []);
  const words = continuation.toLowerCase().match(/\w+/g) ?? [];
  return { logprob: words.reduce((s, w) => s + Math.log(seen.has(w) ? 0.5 : 0.001), 0), tokens: words.length };
});

const rec = (question: string, contexts: string[], answer: string) => ({ line: 1, question, contexts, answer });

describe('content words', () => {
  it('drops function words, case and repeats', () => {
    expect([...contentWords('The capital of Peru is Lima, and LIMA is big.')]).toEqual(['capital', 'peru', 'lima', 'big']);
    expect(coverage(new Set(['a', 'b']), new Set(['b', 'c']))).toBe(0.5);
    expect(coverage(new Set(), new Set(['b']))).toBeNull();
  });
});

describe('grounded-answer metrics', () => {
  it('attribution: the only source passage carries it, an unrelated passage gets 0', async () => {
    const r = rec('What is the capital of Peru?', ['Lima is the capital city of Peru.', 'Bananas are yellow fruit.'], 'Lima');
    const { results } = await groundedMetrics([r], ['Lima is the capital city.'], copyingModel);
    const [source, unrelated] = results[0]!.passages;
    // Without the source, "lima" and "city" are unseen: 2 of the 5 words drop from ln 1/2 to ln 1/1000.
    expect(source!.attribution).toBeCloseTo((2 * (Math.log(0.5) - Math.log(0.001))) / 5, 12);
    expect(unrelated!.attribution).toBe(0);
    expect(results[0]!.completeness).toBe(1);
    // Content words of the response: lima, capital, city; all in the source, none in the other.
    expect(source!.utilisation).toBe(1);
    expect(unrelated!.utilisation).toBe(0);
    expect(results[0]!.utilisation).toBe(1);
  });

  it('a passage whose removal changes nothing (its twin is still there) has attribution ~0', async () => {
    const p = 'Lima is the capital city of Peru.';
    const { results } = await groundedMetrics([rec('Capital of Peru?', [p, p], 'Lima')], ['Lima'], copyingModel);
    expect(results[0]!.passages.map((x) => x.attribution)).toEqual([0, 0]);
  });

  it('relevance: a passage sharing the question\'s words scores higher than one that does not', async () => {
    const q = 'Which river flows through Cairo?';
    const { results, summary } = await groundedMetrics([rec(q, ['The Nile river flows through Cairo.', 'Snow falls in winter.'], 'The Nile')], ['The Nile.'], copyingModel);
    const [near, far] = results[0]!.passages;
    // 4 of the question's 5 words (river, flows, through, cairo) are seen after the first passage.
    expect(near!.relevance).toBeCloseTo((4 * (Math.log(0.5) - Math.log(0.001))) / 5, 12);
    expect(far!.relevance).toBe(0);
    expect(results[0]!.completeness).toBe(1);
    expect(summary.relevance).toBeCloseTo(near!.relevance / 2, 12);
  });

  it('completeness counts the reference\'s content words found in the response', async () => {
    const r = rec('Name two colours of the flag.', ['The flag is red and white.'], 'Red and white.');
    const { results, summary } = await groundedMetrics([r, r], ['It is red.', 'Blue.'], copyingModel);
    expect(results.map((x) => x.completeness)).toEqual([0.5, 0]);
    expect(results[1]!.utilisation).toBe(0);
    expect(summary.completeness).toBe(0.25);
    expect(summary.n).toBe(2);
  });

  it('an empty response has no attribution or utilisation', async () => {
    const { results } = await groundedMetrics([rec('Q?', ['A passage.'], 'x')], [''], copyingModel);
    expect(results[0]!.passages[0]!.attribution).toBeNull();
    expect(results[0]!.utilisation).toBeNull();
    expect(results[0]!.completeness).toBe(0);
  });

  it('prompts and hostile records', () => {
    expect(groundedPrompt('Q?', ['a', 'b'])).toBe('Context:\na\n\nb\n\nQuestion: Q?\nAnswer:');
    expect(groundedPrompt('Q?', [])).toBe('Question: Q?\nAnswer:');
    const bad = (o: unknown) => () => parseGroundedFile(JSON.stringify(o), 'g.jsonl');
    expectInputError(bad({ question: 'q', contexts: [], answer: 'a' }), 'g.jsonl', 'line 1', /non-empty list of passages/);
    expectInputError(bad({ question: 'q', contexts: ['x', 3], answer: 'a' }), 'g.jsonl', 'line 1', /passage 1 is not/);
    expectInputError(bad({ question: '', contexts: ['x'], answer: 'a' }), 'g.jsonl', 'line 1', /"question"/);
    expectInputError(bad({ question: 'q', contexts: ['x'] }), 'g.jsonl', 'line 1', /"answer"/);
    expectInputError(bad({ question: 'q', contexts: Array(40).fill('x'), answer: 'a' }), 'g.jsonl', 'line 1', /40 passages; at most 32/);
    expectInputError(bad({ question: 'q', contexts: ['x'.repeat(1 << 20)], answer: 'a' }), 'g.jsonl', 'line 1', /at most 100000/);
  });
});
