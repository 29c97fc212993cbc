import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeRecord, IGNORE, tokenizeRecords, type Example } from '../../src/core/data/tokenize.ts';
import type { ChatMessage, DataRecord, DatasetRecord } from '../../src/core/data/records.ts';
import { parseDataset } from '../../src/core/data/import.ts';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';

/** Fixtures are copied under tests/fixtures; the demo model ships in public/models. */
const shared = (p: string) => fileURLToPath(new URL(p.startsWith('models/') ? `../../public/${p}` : `../${p}`, import.meta.url));
const FIX = 'fixtures/hf/tokenizers/bpe512-chat';
const fixJson = (p: string): unknown => JSON.parse(readFileSync(shared(`${FIX}/${p}`), 'utf8'));

let chat: Tokenizer; // bpe512-chat: ChatML template, eos <|im_end|>, no bos
let demo: Tokenizer; // the demo model: same template, eos <|endoftext|>
let plain: Tokenizer; // bpe512 without template and without eos
let withBos: Tokenizer; // bpe512 whose post-processor adds <|endoftext|> before each sequence

beforeAll(async () => {
  chat = await Tokenizer.fromTree(nodeFileTree(shared(FIX)));
  demo = await Tokenizer.fromTree(nodeFileTree(shared('models/demo-base')));
  plain = Tokenizer.fromJson(fixJson('tokenizer.json'), 'plain', { config: { pad_token: '<|endoftext|>' } });
  const json = fixJson('tokenizer.json') as Record<string, unknown>;
  json['post_processor'] = {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [],
    special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [0], tokens: ['<|endoftext|>'] } },
  };
  withBos = Tokenizer.fromJson(json, 'with-bos', { config: fixJson('tokenizer_config.json') });
});

const at = (line: number): DatasetRecord['source'] => ({ file: 't.jsonl', line });
const ds = (...records: DataRecord[]): DatasetRecord[] => records.map((record, i) => ({ record, source: at(i + 1) }));
const trained = (e: { inputIds: number[]; labels: number[] }): number[] => e.inputIds.filter((_, k) => e.labels[k] !== IGNORE);

/** Trained tokens as contiguous runs, each decoded. */
function trainedRuns(tok: Tokenizer, e: { inputIds: number[]; labels: number[] }): string[] {
  const runs: string[] = [];
  let cur: number[] = [];
  e.inputIds.forEach((id, k) => {
    if (e.labels[k] !== IGNORE) {
      expect(e.labels[k]).toBe(id); // labels are aligned with the ids, not shifted
      cur.push(id);
    } else if (cur.length) {
      runs.push(tok.decode(cur));
      cur = [];
    }
  });
  if (cur.length) runs.push(tok.decode(cur));
  return runs;
}

function one(tok: Tokenizer, record: DataRecord, opts: Partial<Parameters<typeof tokenizeRecords>[2]> = {}): Example {
  const r = tokenizeRecords(ds(record), tok, { maxLength: 1024, ...opts });
  expect(r.problems).toEqual([]);
  expect(r.examples).toHaveLength(1);
  return r.examples[0]!;
}

describe('prompt/completion without a chat template', () => {
  const cases: [string, string][] = [
    ['Translate to French: good morning\n', 'Bonjour 🌞'],
    ['数字123456 and 中文', '混合 emoji 🤗🚀'],
    ['Hello ', 'world'],
    ['', 'no prompt at all'],
  ];

  it('prompt tokens carry -100; the trained tokens decode to exactly the completion + eos', () => {
    for (const tok of [() => chat, () => demo]) {
      const t = tok();
      for (const [prompt, completion] of cases) {
        const e = one(t, { kind: 'prompt', prompt, completion });
        const p = t.encode(prompt);
        const c = t.encode(completion);
        const eos = t.specialTokens.eos!.id;
        // encoded separately, as TRL does: no BPE merge across the boundary
        expect(e.inputIds).toEqual([...p, ...c, eos]);
        expect(e.labels.slice(0, Math.max(1, p.length)).every((l) => l === IGNORE)).toBe(true);
        const expectedTrained = p.length === 0 ? [...c.slice(1), eos] : [...c, eos];
        expect(trained(e)).toEqual(expectedTrained);
        if (p.length) expect(t.decode(trained(e))).toBe(completion + t.specialTokens.eos!.content);
        expect(e.labels[0]).toBe(IGNORE);
      }
    }
  });

  it('"Hello " + "world" is not encoded as "Hello world"', () => {
    const e = one(chat, { kind: 'prompt', prompt: 'Hello ', completion: 'world' });
    expect(e.inputIds.slice(0, -1)).not.toEqual(chat.encode('Hello world'));
  });

  it("the post-processor's BOS comes first and never trains", () => {
    const e = one(withBos, { kind: 'prompt', prompt: 'Q: 2+2?\nA:', completion: ' 4' });
    expect(e.inputIds[0]).toBe(0);
    expect(e.inputIds).toEqual([0, ...withBos.encode('Q: 2+2?\nA:'), ...withBos.encode(' 4'), 2]);
    expect(withBos.decode(trained(e))).toBe(' 4<|im_end|>');
    const t = one(withBos, { kind: 'text', text: 'abc' });
    expect(t.inputIds).toEqual([0, ...withBos.encode('abc'), 2]);
    expect(t.labels).toEqual([IGNORE, ...withBos.encode('abc'), 2]);
  });

  it('maskPrompt false trains on every token (but the first, which nothing predicts)', () => {
    const e = one(chat, { kind: 'prompt', prompt: 'Frage: Wie geht’s?', completion: ' Gut!' }, { maskPrompt: false });
    expect(e.labels).toEqual([IGNORE, ...e.inputIds.slice(1)]);
  });

  it('eos: appended by default, not with addEos false, not when the tokenizer has none, not twice', () => {
    expect(one(chat, { kind: 'prompt', prompt: 'a', completion: 'b' }, { addEos: false }).inputIds).toEqual([...chat.encode('a'), ...chat.encode('b')]);
    expect(one(plain, { kind: 'prompt', prompt: 'a', completion: 'b' }).inputIds).toEqual([...plain.encode('a'), ...plain.encode('b')]);
    expect(one(chat, { kind: 'prompt', prompt: 'a', completion: 'b<|im_end|>' }).inputIds).toEqual([...chat.encode('a'), ...chat.encode('b'), 2]);
  });
});

describe('text records', () => {
  it('every token trains (but the first) and eos is appended', () => {
    const text = 'Пример текста на русском 🐻';
    const e = one(demo, { kind: 'text', text });
    expect(e.inputIds).toEqual([...demo.encode(text), 0]);
    expect(e.labels).toEqual([IGNORE, ...e.inputIds.slice(1)]);
    expect(demo.decode(e.inputIds)).toBe(text + '<|endoftext|>');
  });
});

describe('chat records with the chat template', () => {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'Réponds en français.' },
    { role: 'user', content: 'What is LoRA? 🤔' },
    { role: 'assistant', content: 'Une mise à jour de rang faible.' },
    { role: 'user', content: 'Et QLoRA ?' },
    { role: 'assistant', content: 'LoRA sur un modèle de base en 4 bits. 🚀' },
  ];

  it('only the assistant contents and their end markers train', () => {
    for (const t of [chat, demo]) {
      const e = one(t, { kind: 'chat', messages });
      expect(t.decode(e.inputIds)).toBe(t.applyChatTemplate(messages));
      expect(trainedRuns(t, e)).toEqual(['Une mise à jour de rang faible.<|im_end|>', 'LoRA sur un modèle de base en 4 bits. 🚀<|im_end|>']);
      // the template closes the turn itself: no eos after it
      expect(t.decode(e.inputIds).endsWith('<|im_end|>\n')).toBe(true);
    }
  });

  it('trainRoles and maskPrompt false', () => {
    const e = one(chat, { kind: 'chat', messages }, { trainRoles: ['user'] });
    expect(trainedRuns(chat, e)).toEqual(['What is LoRA? 🤔<|im_end|>', 'Et QLoRA ?<|im_end|>']);
    const all = one(chat, { kind: 'chat', messages }, { maskPrompt: false });
    expect(all.labels).toEqual([IGNORE, ...all.inputIds.slice(1)]);
  });

  it('prompt records as a user/assistant chat with promptAsChat', () => {
    const e = one(chat, { kind: 'prompt', prompt: 'Say hi', completion: 'Hi! 👋' }, { promptAsChat: true });
    expect(chat.decode(e.inputIds)).toBe('<|im_start|>user\nSay hi<|im_end|>\n<|im_start|>assistant\nHi! 👋<|im_end|>\n');
    expect(trainedRuns(chat, e)).toEqual(['Hi! 👋<|im_end|>']);
    // without a template, promptAsChat falls back to the plain concatenation
    expect(one(plain, { kind: 'prompt', prompt: 'a', completion: 'b' }, { promptAsChat: true }).inputIds).toEqual([...plain.encode('a'), ...plain.encode('b')]);
  });

  it('chat records without a template, or with chatTemplate off, are problems', () => {
    const rec = ds({ kind: 'chat', messages }, { kind: 'text', text: 'ok' });
    const r = tokenizeRecords(rec, plain, { maxLength: 64 });
    expect(r.examples).toHaveLength(1);
    expect(r.problems).toEqual([{ source: at(1), reason: 'a chat record needs a chat template and the tokenizer plain has none' }]);
    const off = tokenizeRecords(rec, chat, { maxLength: 64, chatTemplate: false });
    expect(off.problems.map((p) => p.reason)).toEqual(['a chat record needs a chat template and chatTemplate is off']);
  });
});

describe('pre-tokenized records', () => {
  it('kept as given; absent labels mean labels = ids; ids outside the vocabulary are problems', () => {
    const r = tokenizeRecords(
      ds({ kind: 'tokens', inputIds: [5, 6, 7] }, { kind: 'tokens', inputIds: [5, 6, 7, 8], labels: [IGNORE, IGNORE, 7, 8] }, { kind: 'tokens', inputIds: [5, 600] }, { kind: 'tokens', inputIds: [5, 6], labels: [IGNORE, 999] }),
      chat,
      { maxLength: 64 },
    );
    expect(r.examples.map((e) => [e.inputIds, e.labels])).toEqual([
      [[5, 6, 7], [IGNORE, 6, 7]],
      [[5, 6, 7, 8], [IGNORE, IGNORE, 7, 8]],
    ]);
    expect(r.problems).toEqual([
      { source: at(3), reason: 'input_ids[1] is 600, outside the vocabulary (512)' },
      { source: at(4), reason: 'labels[1] is 999, outside the vocabulary (512)' },
    ]);
  });
});

describe('truncation and records with nothing to train', () => {
  const long = 'word '.repeat(40);

  it("'right' keeps the first maxLength tokens and counts them; a record whose trained part is cut off is a problem", () => {
    const records = ds(
      { kind: 'prompt', prompt: 'short', completion: 'answer' },
      { kind: 'prompt', prompt: 'Q', completion: long },
      { kind: 'prompt', prompt: long, completion: 'lost' },
      { kind: 'text', text: long },
    );
    const r = tokenizeRecords(records, chat, { maxLength: 16 });
    expect(r.examples.map((e) => e.source.line)).toEqual([1, 2, 4]);
    expect(r.examples.every((e) => e.inputIds.length <= 16 && e.labels.length === e.inputIds.length)).toBe(true);
    expect(r.examples.map((e) => !!e.truncated)).toEqual([false, true, true]);
    expect(r.stats.truncated).toBe(2);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]!.source).toEqual(at(3));
    expect(r.problems[0]!.reason).toMatch(/^no trainable token left after truncation to 16 of its \d+ tokens/);
    expect(r.dropped).toBe(0);
    // the kept part is the start of the untruncated example
    const full = encodeRecord(records[1]!.record, chat);
    expect(full.ok && r.examples[1]!.inputIds).toEqual(full.ok ? full.inputIds.slice(0, 16) : null);
  });

  it("'drop' leaves out longer records, as problems", () => {
    const r = tokenizeRecords(ds({ kind: 'text', text: 'fits' }, { kind: 'text', text: long }), chat, { maxLength: 16, truncation: 'drop' });
    expect(r.examples).toHaveLength(1);
    expect(r.dropped).toBe(1);
    expect(r.stats.truncated).toBe(0);
    expect(r.problems[0]!.source).toEqual(at(2));
    expect(r.problems[0]!.reason).toMatch(/^is \d+ tokens, longer than maxLength 16 \(truncation 'drop'\)$/);
  });

  it('records with no trainable token are reported', () => {
    const r = tokenizeRecords(
      ds({ kind: 'chat', messages: [{ role: 'user', content: 'nobody answers' }] }, { kind: 'tokens', inputIds: [1, 2], labels: [IGNORE, IGNORE] }, { kind: 'text', text: 'fine' }),
      chat,
      { maxLength: 64 },
    );
    expect(r.examples).toHaveLength(1);
    expect(r.problems).toEqual([
      { source: at(1), reason: 'has no trainable token (no turn by assistant)' },
      { source: at(2), reason: 'has no trainable token' },
    ]);
  });

  it('rejects a maxLength below 2', () => {
    expect(() => tokenizeRecords([], chat, { maxLength: 1 })).toThrow(RangeError);
  });
});

describe('stats and speed', () => {
  it('reports stats of what it returns, and tokenizes an imported file', () => {
    const text = [
      JSON.stringify({ instruction: 'Übersetze', input: 'cat', output: 'Katze' }),
      JSON.stringify({ conversations: [{ from: 'human', value: '你好' }, { from: 'gpt', value: '你好！有什么可以帮你？' }] }),
      JSON.stringify({ text: 'A plain line of text.' }),
    ].join('\n');
    const imported = parseDataset('mix.jsonl', text);
    const r = tokenizeRecords(imported.records, demo, { maxLength: 512 });
    expect(r.problems).toEqual([]);
    expect(r.stats.examples).toBe(3);
    expect(r.stats.tokens).toBe(r.examples.reduce((s, e) => s + e.inputIds.length, 0));
    expect(r.stats.trainableTokens).toBe(r.examples.reduce((s, e) => s + trained(e).length, 0));
    expect(demo.decode(trained(r.examples[0]!))).toBe('Katze<|endoftext|>');
    expect(trainedRuns(demo, r.examples[1]!)).toEqual(['你好！有什么可以帮你？<|im_end|>']);
  });

  it('tokenizes 20k short records', () => {
    const n = 20_000;
    const records = ds(...Array.from({ length: n }, (_, i): DataRecord => (i % 2 ? { kind: 'prompt', prompt: `Question ${i}: what is ${i} plus ${i}?`, completion: ` It is ${2 * i}.` } : { kind: 'chat', messages: [{ role: 'user', content: `Say ${i}` }, { role: 'assistant', content: `${i}!` }] })));
    const r = tokenizeRecords(records, demo, { maxLength: 128 });
    expect(r.examples).toHaveLength(n);
    expect(r.problems).toHaveLength(0);
  });
});
