import { Template } from '@huggingface/jinja';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderChatTemplate, type ChatMessage } from '../../src/core/formats/chat-template.ts';
import { DEFAULT_TEMPLATE_LIMITS, renderWithBudget, TemplateLimitError } from '../../src/core/formats/template-budget.ts';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { tokenizeRecords } from '../../src/core/data/tokenize.ts';
import type { DatasetRecord } from '../../src/core/data/records.ts';

const fixture = (p: string) => fileURLToPath(new URL(`../fixtures/hf/tokenizers/bpe512-chat/${p}`, import.meta.url));
const CHATML = readFileSync(fixture('chat_template.jinja'), 'utf8');
const tokenizer = (template: string) =>
  Tokenizer.fromJson(JSON.parse(readFileSync(fixture('tokenizer.json'), 'utf8')), 'bpe512-chat', {
    config: JSON.parse(readFileSync(fixture('tokenizer_config.json'), 'utf8')),
    chatTemplate: template,
  });
const MESSAGES: ChatMessage[] = [
  { role: 'user', content: 'hi' },
  { role: 'assistant', content: 'hello' },
];

/** The error a render throws (the render must throw). */
function failure(template: string, messages = MESSAGES): TemplateLimitError {
  try {
    renderChatTemplate(template, { messages });
  } catch (e) {
    return e as TemplateLimitError;
  }
  throw new Error('the template rendered');
}

describe('chat template limits', () => {
  it('a loop over range(1e9) stops at the range, with one clear error', () => {
    const e = failure('{% for i in range(1000000000) %}x{% endfor %}');
    expect(e).toBeInstanceOf(TemplateLimitError);
    expect(e.message).toBe('chat template: range() of 1,000,000,000 items, over the limit of 100,000');
  });

  it('nested loops that each stay under the range limit stop at the step budget', () => {
    const e = failure('{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}');
    expect(e).toBeInstanceOf(TemplateLimitError);
    expect(e.message).toMatch(/^chat template: stopped after 500,000 steps/);
  });

  it('a string that doubles stops at its size limit, not at the memory limit', () => {
    const e = failure("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}");
    expect(e).toBeInstanceOf(TemplateLimitError);
    expect(e.message).toMatch(/^chat template: made a string of [\d,]+ characters, over its limit of 1,000,0\d\d$/);
  });

  it('a list that doubles stops: at the step budget, or at its size limit when steps are plenty', () => {
    const doubling = "{% set ns = namespace(a=[1]) %}{% for i in range(64) %}{% set ns.a = ns.a + ns.a %}{% endfor %}{{ ns.a | length }}";
    expect(failure(doubling).message).toMatch(/^chat template: stopped after 500,000 steps/);
    const limits = { ...DEFAULT_TEMPLATE_LIMITS, steps: 1e12 };
    expect(() => renderWithBudget(new Template(doubling), { messages: MESSAGES }, limits)).toThrow(
      /^chat template: made a list of 131,072 items, over its limit of 100,002$/,
    );
  });

  it('the string limit grows with the input: a long message renders', () => {
    const long = 'word '.repeat(400_000);
    const text = renderChatTemplate(CHATML, { messages: [{ role: 'user', content: long }, { role: 'assistant', content: long }] });
    expect(text.length).toBeGreaterThan(4_000_000);
  });

  it('a long conversation renders well inside the budget', () => {
    const messages = Array.from({ length: 2000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i} `.repeat(20) }));
    expect(renderChatTemplate(CHATML, { messages }).split('<|im_start|>')).toHaveLength(2001);
  });

  it('real templates render as before, globals included', () => {
    expect(renderChatTemplate(CHATML, { messages: MESSAGES })).toBe(tokenizer(CHATML).applyChatTemplate(MESSAGES));
    expect(renderChatTemplate('{{ range(3) | join(",") }} {{ range(1, 7, 2) | join(",") }} {{ range(5, 0, -2) | join(",") }}', { messages: [] })).toBe(
      '0,1,2 1,3,5 5,3,1',
    );
    expect(renderChatTemplate('{{ strftime_now("%Y") }}', { messages: [] })).toBe(String(new Date().getFullYear()));
    expect(() => renderChatTemplate('{{ raise_exception("no system role") }}', { messages: [] })).toThrow('no system role');
    expect(renderChatTemplate('{{ true }} {{ None is none }}', { messages: [] })).toBe('true true');
  });

  it('tokenizing a dataset stops at once on the first record, not once per record', () => {
    const tok = tokenizer('{% for m in messages %}{{ m.content }}{% for i in range(100000) %}{% for j in range(100) %}{% endfor %}{% endfor %}{% endfor %}');
    const records: DatasetRecord[] = Array.from({ length: 50 }, (_, i) => ({
      record: { kind: 'chat', messages: MESSAGES },
      source: { file: 'chat.jsonl', line: i + 1 },
    }));
    expect(() => tokenizeRecords(records, tok, { maxLength: 64 })).toThrow(TemplateLimitError);
  });
});
