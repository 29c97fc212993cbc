import { describe, expect, it } from 'vitest';
import { aggregatorPrompt, DEFAULT_AGGREGATOR_TEMPLATE, templateProblem } from '../../src/core/pipeline/moa.ts';

const proposal = (text: string) => ({ proposer: 'p', adapter: null, text, ids: [] });

describe('the mixture-of-agents aggregator prompt', () => {
  it('lists the proposals numbered, one per line, where {proposals} stands; the question where {question} stands', () => {
    const got = aggregatorPrompt('Q: {question}\n{proposals}\nA ({question}):', 'Where is Chad?', [proposal(' Africa\n'), proposal('in\n\nAfrica')]);
    expect(got).toBe('Q: Where is Chad?\n1. Africa\n2. in Africa\nA (Where is Chad?):');
  });

  it('keeps "$&", "$1" and braces in answers and questions as written', () => {
    expect(aggregatorPrompt('{proposals}|{question}', 'cost $1?', [proposal('$& and {question}')])).toBe('1. $& and {question}|cost $1?');
  });

  it('a template must hold both placeholders', () => {
    expect(templateProblem(DEFAULT_AGGREGATOR_TEMPLATE)).toBeNull();
    expect(templateProblem('{question}')).toBe('the aggregator prompt needs {proposals} in it');
    expect(templateProblem('none')).toBe('the aggregator prompt needs {question} and {proposals} in it');
  });
});
