import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chatSpans, encodeChat } from '../../src/core/data/chat-mask.ts';
import { renderChatTemplate, type ChatMessage } from '../../src/core/formats/chat-template.ts';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';

/** Fixtures are copied under tests/fixtures; the demo model ships in public/models. */
const shared = (p: string) => fileURLToPath(new URL(p.startsWith('models/') ? `../../public/${p}` : `../${p}`, import.meta.url));
const readJsonFile = (p: string): unknown => JSON.parse(readFileSync(shared(p), 'utf8'));

const DIR = 'fixtures/hf/tokenizers/bpe512-chat';
const chatJson = readJsonFile(`${DIR}/tokenizer.json`);
const chatConfig = readJsonFile(`${DIR}/tokenizer_config.json`);
const CHATML = readFileSync(shared(`${DIR}/chat_template.jinja`), 'utf8');
const chat = Tokenizer.fromJson(chatJson, 'bpe512-chat', { config: chatConfig, chatTemplate: CHATML });
const withTemplate = (template: string) => Tokenizer.fromJson(chatJson, 'bpe512-chat', { config: chatConfig, chatTemplate: template });
const gpt2 = (template: string) =>
  Tokenizer.fromJson(readJsonFile('fixtures/hf/tokenizers/gpt2/tokenizer.json'), 'gpt2', {
    config: readJsonFile('fixtures/hf/tokenizers/gpt2/tokenizer_config.json'),
    chatTemplate: template,
  });

const TWO_TURNS: ChatMessage[] = [
  { role: 'user', content: 'What is LoRA?' },
  { role: 'assistant', content: 'A low-rank update.' },
  { role: 'user', content: 'And QLoRA?' },
  { role: 'assistant', content: 'LoRA on a 4-bit base model.' },
];

/** The masked tokens as contiguous runs, each decoded. */
function maskedRuns(tok: Tokenizer, ids: number[], mask: boolean[]): string[] {
  const runs: string[] = [];
  let cur: number[] = [];
  ids.forEach((id, k) => {
    if (mask[k]) cur.push(id);
    else if (cur.length) {
      runs.push(tok.decode(cur));
      cur = [];
    }
  });
  if (cur.length) runs.push(tok.decode(cur));
  return runs;
}

describe('renderChatTemplate', () => {
  it('renders messages, add_generation_prompt and special tokens (trim_blocks/lstrip_blocks like transformers)', () => {
    const tpl = '{{ bos_token }}{% for m in messages %}\n  {{ m.role }}={{ m.content }};\n{% endfor %}\n{% if add_generation_prompt %}GO{% endif %}';
    const vars = { messages: [{ role: 'user', content: 'hi' }], bos_token: '<s>' };
    expect(renderChatTemplate(tpl, vars)).toBe('<s>  user=hi;\n');
    expect(renderChatTemplate(tpl, { ...vars, add_generation_prompt: true })).toBe('<s>  user=hi;\nGO');
    expect(() => renderChatTemplate('{{ raise_exception("no system role") }}', vars)).toThrow(/no system role/);
    expect(() => renderChatTemplate('{% for %}', vars)).toThrow(/does not parse/);
  });

  it('applyChatTemplate passes eos_token and leaves an unset bos_token undefined', () => {
    const t = withTemplate('[{{ bos_token }}]{{ messages[0].content }}{{ eos_token }}');
    expect(t.applyChatTemplate([{ role: 'user', content: 'x' }])).toBe('[]x<|im_end|>');
  });
});

describe('chatSpans', () => {
  it('locates every content and its end marker in the fixture conversation', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is LoRA?' },
      { role: 'assistant', content: 'A low-rank update.' },
    ];
    const { text, spans } = chatSpans(chat, messages, { addGenerationPrompt: true });
    expect(text).toBe((readJsonFile(`${DIR}/expected.json`) as { chat: { rendered: string } }).chat.rendered);
    expect(spans.map((s) => [s.role, text.slice(s.start, s.end), text.slice(s.end, s.turnEnd)])).toEqual([
      ['system', 'Be brief.', '<|im_end|>'],
      ['user', 'What is LoRA?', '<|im_end|>'],
      ['assistant', 'A low-rank update.', '<|im_end|>'],
    ]);
  });

  it('finds the content, not an equal string in the scaffolding', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'user' },
      { role: 'assistant', content: 'im_start' },
    ];
    const { text, spans } = chatSpans(chat, messages);
    expect(spans[0]!.start).toBe(text.indexOf('\nuser') + 1);
    expect(text.slice(spans[1]!.start - 'assistant\n'.length, spans[1]!.turnEnd)).toBe('assistant\nim_start<|im_end|>');
  });

  it('pins contents exactly in a template that is not prefix-stable', () => {
    const tpl = '{{ messages|length }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}';
    const { text, spans } = chatSpans(withTemplate(tpl), [
      { role: 'user', content: 'assistant' },
      { role: 'assistant', content: 'user' },
    ]);
    expect(text).toBe('2<user>assistant<assistant>user');
    expect(spans.map((s) => [s.start, s.end])).toEqual([
      [7, 16],
      [27, 31],
    ]);
  });

  it('falls back to searching when the template is not prefix-stable, and follows trim', () => {
    const tpl = '{{ messages|length }}{% for m in messages %}<{{ m.role }}>{{ m.content | trim }}<|im_end|>{% endfor %}';
    const { text, spans } = chatSpans(withTemplate(tpl), [
      { role: 'user', content: '  hello  ' },
      { role: 'assistant', content: 'hello' },
    ]);
    expect(text).toBe('2<user>hello<|im_end|><assistant>hello<|im_end|>');
    expect(spans.map((s) => [s.start, s.end, s.turnEnd])).toEqual([
      [7, 12, 22],
      [33, 38, 48],
    ]);
  });

  it('throws when the template drops a message', () => {
    const tpl = '{% for m in messages %}{% if m.role != "system" %}{{ m.content }}{% endif %}{% endfor %}';
    expect(() => chatSpans(withTemplate(tpl), [{ role: 'system', content: 'secret rules' }, { role: 'user', content: 'hi' }])).toThrow(/message 0 \(system\)/);
  });
});

describe('encodeChat', () => {
  it('masks exactly the assistant contents and their <|im_end|> in a 2-turn conversation', () => {
    const { text, ids, assistantMask } = encodeChat(chat, TWO_TURNS);
    expect(ids).toEqual(chat.encode(text));
    expect(assistantMask).toHaveLength(ids.length);
    expect(maskedRuns(chat, ids, assistantMask)).toEqual(['A low-rank update.<|im_end|>', 'LoRA on a 4-bit base model.<|im_end|>']);
    expect(maskedRuns(chat, ids, assistantMask).map((r) => chat.decode(chat.encode(r), { skipSpecialTokens: true }))).toEqual([
      'A low-rank update.',
      'LoRA on a 4-bit base model.',
    ]);
    // the unmasked tokens are the scaffolding and the user turns
    const unmasked = chat.decode(ids.filter((_, k) => !assistantMask[k]));
    expect(unmasked).toBe(
      '<|im_start|>user\nWhat is LoRA?<|im_end|>\n<|im_start|>assistant\n\n<|im_start|>user\nAnd QLoRA?<|im_end|>\n<|im_start|>assistant\n\n',
    );
    // the header token right before each assistant content is not trained, <|im_end|> is
    const firstMasked = assistantMask.indexOf(true);
    expect(chat.decode(ids.slice(firstMasked - 1, firstMasked))).toBe('\n');
    expect(ids[assistantMask.lastIndexOf(true)]).toBe(2);
  });

  it('leaves the generation prompt untrained', () => {
    const { ids, assistantMask, text } = encodeChat(chat, TWO_TURNS.slice(0, 3), { addGenerationPrompt: true });
    expect(text.endsWith('<|im_start|>assistant\n')).toBe(true);
    expect(maskedRuns(chat, ids, assistantMask)).toEqual(['A low-rank update.<|im_end|>']);
    expect(assistantMask.slice(-4)).toEqual([false, false, false, false]);
  });

  it('with a plain-text template, a token straddling the boundary counts; eos after the content is trained', () => {
    const tpl = '{% for m in messages %}{{ m.role }}: {{ m.content }}{% if m.role == "assistant" %}{{ eos_token }}{% endif %}{{ "\\n" }}{% endfor %}';
    const tok = gpt2(tpl);
    const { ids, assistantMask, spans, text } = encodeChat(tok, [
      { role: 'user', content: 'Hi there' },
      { role: 'assistant', content: 'Hello friend' },
    ]);
    expect(text).toBe('user: Hi there\nassistant: Hello friend<|endoftext|>\n');
    expect(spans[1]!.turnEnd - spans[1]!.end).toBe('<|endoftext|>'.length);
    expect(spans[0]!.turnEnd).toBe(spans[0]!.end);
    // GPT-2 pre-tokenizes ": Hello" as ":", " Hello": the space belongs to the content's first token
    expect(maskedRuns(tok, ids, assistantMask)).toEqual([' Hello friend<|endoftext|>']);
  });

  it('trains other roles on request', () => {
    const { ids, assistantMask } = encodeChat(chat, TWO_TURNS, { trainRoles: ['user'] });
    expect(maskedRuns(chat, ids, assistantMask)).toEqual(['What is LoRA?<|im_end|>', 'And QLoRA?<|im_end|>']);
  });
});
