import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.ts';
import { memoryTree } from '../../src/core/formats/bytes.ts';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { JsonReader } from '../../src/core/formats/tokenizer/config.ts';
import { buildPreTokenizer, preTokenizeAll } from '../../src/core/formats/tokenizer/pretokenizers.ts';
import { piece } from '../../src/core/formats/tokenizer/pieces.ts';
import { BYTE_TO_CHAR, utf8Lossy } from '../../src/core/formats/tokenizer/bytelevel.ts';
import { compileOnig, onigToJs, RegexSyntaxError } from '../../src/core/formats/tokenizer/regex.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';

/** Fixtures are copied under tests/fixtures; the demo model ships in public/models. */
const shared = (p: string) => fileURLToPath(new URL(p.startsWith('models/') ? `../../public/${p}` : `../${p}`, import.meta.url));
const readJsonFile = (p: string): unknown => JSON.parse(readFileSync(shared(p), 'utf8'));

interface Case {
  text: string;
  ids: number[];
  decoded: string;
}
interface Expected {
  cases: Case[];
  chat?: { messages: { role: string; content: string }[]; rendered: string; ids: number[] };
}

function loadFixture(name: string): { tok: Tokenizer; expected: Expected } {
  const dir = `fixtures/hf/tokenizers/${name}`;
  const extras: { config: unknown; chatTemplate?: string } = { config: readJsonFile(`${dir}/tokenizer_config.json`) };
  try {
    extras.chatTemplate = readFileSync(shared(`${dir}/chat_template.jinja`), 'utf8');
  } catch {
    // gpt2 has no template
  }
  const tok = Tokenizer.fromJson(readJsonFile(`${dir}/tokenizer.json`), `${name}/tokenizer.json`, extras);
  return { tok, expected: readJsonFile(`${dir}/expected.json`) as Expected };
}

const gpt2 = loadFixture('gpt2');
const chat = loadFixture('bpe512-chat');

/** A byte-level tokenizer.json whose vocabulary is the 256 byte characters (id = byte) plus `extra`. */
function syntheticJson(over: Record<string, unknown> = {}, extra: string[] = [], merges: [string, string][] = []): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  BYTE_TO_CHAR.forEach((c, b) => (vocab[c] = b));
  extra.forEach((t, k) => (vocab[t] = 256 + k));
  return {
    version: '1.0',
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', vocab, merges, unk_token: null, byte_fallback: false, ignore_merges: false },
    ...over,
  };
}

const bytesOf = (s: string): number[] => [...new TextEncoder().encode(s)];

describe('fixture expectations (tokenizers 0.23)', () => {
  for (const [name, fx] of [
    ['gpt2', gpt2],
    ['bpe512-chat', chat],
  ] as const) {
    for (const c of fx.expected.cases) {
      it(`${name}: ${JSON.stringify(c.text)}`, () => {
        expect(fx.tok.encode(c.text)).toEqual(c.ids);
        expect(fx.tok.decode(c.ids)).toBe(c.decoded);
      });
    }
  }

  it('bpe512-chat: chat case renders and encodes identically', () => {
    const c = chat.expected.chat!;
    const text = chat.tok.applyChatTemplate(c.messages, { addGenerationPrompt: true });
    expect(text).toBe(c.rendered);
    expect(chat.tok.encode(text)).toEqual(c.ids);
  });

  it('vocab sizes, specials and id lookups', () => {
    expect(gpt2.tok.vocabSize).toBe(50257);
    expect(chat.tok.vocabSize).toBe(512);
    expect(gpt2.tok.specialTokens.eos).toEqual({ id: 50256, content: '<|endoftext|>' });
    expect(gpt2.tok.specialTokens.bos?.id).toBe(50256);
    expect(chat.tok.specialTokens.eos).toEqual({ id: 2, content: '<|im_end|>' });
    expect(chat.tok.specialTokens.pad).toEqual({ id: 0, content: '<|endoftext|>' });
    expect(chat.tok.specialTokens.bos).toBeUndefined();
    expect(gpt2.tok.tokenToId('Hello')).toBe(15496);
    expect(gpt2.tok.idToToken(15496)).toBe('Hello');
    expect(gpt2.tok.tokenToId('<|endoftext|>')).toBe(50256);
    expect(gpt2.tok.idToToken(50256)).toBe('<|endoftext|>');
    expect(gpt2.tok.idToToken(50257)).toBeUndefined();
    expect(gpt2.tok.tokenToId('no such token')).toBeUndefined();
    expect(gpt2.tok.chatTemplate).toBeUndefined();
    expect(() => gpt2.tok.applyChatTemplate([{ role: 'user', content: 'hi' }])).toThrow(/no chat template/);
  });
});

describe('model folders via fromTree', () => {
  it('demo-base loads, has its template, and round-trips', async () => {
    const tok = await Tokenizer.fromTree(nodeFileTree(shared('models/demo-base')));
    expect(tok.vocabSize).toBe(4096);
    expect(tok.specialTokens.eos?.content).toBe('<|endoftext|>');
    expect(tok.chatTemplate).toContain('<|im_start|>');
    const text = 'Call me Ishmael. Some years ago—never mind how long precisely—having little or no money…';
    const ids = tok.encode(text);
    expect(ids.length).toBeLessThan(text.length);
    expect(tok.decode(ids)).toBe(text);
    const rendered = tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true });
    expect(rendered).toBe('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');
    expect(tok.encode(rendered).slice(0, 1)).toEqual([1]);
  });

  it('tiny-llama uses the bpe512-chat tokenizer', async () => {
    const tok = await Tokenizer.fromTree(nodeFileTree(shared('fixtures/hf/models/tiny-llama')));
    expect(tok.vocabSize).toBe(512);
    for (const c of chat.expected.cases) expect(tok.encode(c.text)).toEqual(c.ids);
    expect(tok.chatTemplate).toBe(chat.tok.chatTemplate);
  });

  it('a missing tokenizer.json is an InputError naming the file', async () => {
    const err = await Tokenizer.fromTree(memoryTree('m', {})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toContain('m/tokenizer.json');
  });

  it('tokenizer.json that is not JSON is an InputError naming the file', async () => {
    const tree = memoryTree('m', { 'tokenizer.json': new TextEncoder().encode('{"model": ') });
    const err = await Tokenizer.fromTree(tree).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).file).toBe('m/tokenizer.json');
    expect((err as InputError).message).toMatch(/not valid JSON/);
  });

  it('tokenizer.json without a model is an InputError naming the file', async () => {
    const tree = memoryTree('m', { 'tokenizer.json': new TextEncoder().encode('{"version": "1.0"}') });
    const err = await Tokenizer.fromTree(tree).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(/^m\/tokenizer\.json: model: .*no "model"/);
  });

  it('a malformed tokenizer_config.json is an InputError naming that file', async () => {
    const tree = memoryTree('m', {
      'tokenizer.json': new TextEncoder().encode(JSON.stringify(syntheticJson())),
      'tokenizer_config.json': new TextEncoder().encode('[1, 2'),
    });
    await expect(Tokenizer.fromTree(tree)).rejects.toThrow(/m\/tokenizer_config\.json: not valid JSON/);
  });

  it('chat_template.jinja wins over the config; a template list picks "default"', async () => {
    const enc = (o: unknown) => new TextEncoder().encode(typeof o === 'string' ? o : JSON.stringify(o));
    const config = {
      eos_token: { content: '</s>', __type: 'AddedToken' },
      chat_template: [
        { name: 'tool_use', template: 'TOOLS' },
        { name: 'default', template: '{{ messages[0].content }}{{ eos_token }}' },
      ],
    };
    const json = syntheticJson({ added_tokens: [{ id: 300, content: '</s>', special: true, normalized: false }] });
    const a = await Tokenizer.fromTree(memoryTree('a', { 'tokenizer.json': enc(json), 'tokenizer_config.json': enc(config) }));
    expect(a.specialTokens.eos).toEqual({ id: 300, content: '</s>' });
    expect(a.applyChatTemplate([{ role: 'user', content: 'x' }])).toBe('x</s>');
    const b = await Tokenizer.fromTree(
      memoryTree('b', { 'tokenizer.json': enc(json), 'tokenizer_config.json': enc(config), 'chat_template.jinja': enc('J{{ messages|length }}') }),
    );
    expect(b.applyChatTemplate([{ role: 'user', content: 'x' }])).toBe('J1');
  });
});

describe('errors in tokenizer.json', () => {
  it('an unknown pre-tokenizer names the file, the JSON path, the type and the supported ones', () => {
    const json = syntheticJson({ pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'ByteLevel' }, { type: 'FancySplit' }] } });
    let err: unknown;
    try {
      Tokenizer.fromJson(json, 'x/tokenizer.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    const msg = (err as Error).message;
    expect(msg).toContain('x/tokenizer.json');
    expect(msg).toContain('pre_tokenizer.pretokenizers[1]');
    expect(msg).toContain('"FancySplit"');
    expect(msg).toMatch(/supported: ByteLevel, Split, Sequence, Digits/);
  });

  it('unknown normalizer, decoder and model types are InputErrors', () => {
    expect(() => Tokenizer.fromJson(syntheticJson({ normalizer: { type: 'Precompiled' } }))).toThrow(/normalizer: unknown normalizer type "Precompiled" \(supported: NFC/);
    expect(() => Tokenizer.fromJson(syntheticJson({ decoder: { type: 'CTC' } }))).toThrow(InputError);
    expect(() => Tokenizer.fromJson(syntheticJson({ model: { type: 'WordPiece', vocab: {} } }))).toThrow(/model: unsupported model type "WordPiece" \(supported: BPE\)/);
  });

  it('a merge of unknown tokens and a bad regex are InputErrors with the path', () => {
    expect(() => Tokenizer.fromJson(syntheticJson({}, [], [['zz', 'q']]))).toThrow(/model\.merges\[0\]: token "zz" is not in the vocabulary/);
    const bad = syntheticJson({ pre_tokenizer: { type: 'Split', pattern: { Regex: '(a' }, behavior: 'Isolated' } });
    expect(() => Tokenizer.fromJson(bad)).toThrow(/pre_tokenizer\.pattern\.Regex/);
  });
});

const ROUND_TRIP = [
  'emoji 🤗🚀👩‍👩‍👧‍👦 flags 🇫🇷🇯🇵 and skin 👍🏽',
  '日本語のテキストと中文混合，한국어도 있습니다。',
  'combining: e\u0301 a\u0308 n\u0303 Z\u0351\u0353\u0324 and precomposed é ä ñ',
  'tabs\tand\t\tmore\t\t\ttabs',
  'many          spaces   and trailing      ',
  '\n\n\r\n  \n\t \u00a0 nbsp \u2003 em space \u3000 ideographic',
  'numbers 0 12 345 6789 3.14159 1,000,000 -42 1e-9 ٣٤٥ ४५६',
  "UPPER CONTRACTIONS: IT'S DON'T WE'LL THEY'RE I'VE I'M HE'D 'S",
  "mixed 'S 'T 'Re 'vE x'LL y'D",
  'code:\n\tif (x) {\n\t\treturn y ** 2; // ok\n\t}\n',
  'symbols ~!@#$%^&*()_+`-=[]{}|;:\'",.<>/?\\ ±§¶•ªº«»',
  'zero width\u200b joiner\u200d and bom \ufeff and nel \u0085 here',
  'long word: ' + 'supercalifragilisticexpialidocious'.repeat(5) + ' ' + 'a'.repeat(300) + ' ' + '0123456789'.repeat(30),
  '',
];

describe('round trips and special tokens', () => {
  const demo = Tokenizer.fromJson(readJsonFile('models/demo-base/tokenizer.json'), 'demo-base');
  for (const [name, tok] of [
    ['gpt2', gpt2.tok],
    ['bpe512-chat', chat.tok],
    ['demo-base', demo],
  ] as const) {
    it(`${name}: decode(encode(s)) == s`, () => {
      for (const s of ROUND_TRIP) {
        const ids = tok.encode(s);
        expect(tok.decode(ids), JSON.stringify(s)).toBe(name === 'bpe512-chat' ? s.normalize('NFC') : s);
      }
    });
  }

  it('uppercase contractions split off with the (?i:...) Qwen regex', () => {
    const r = new JsonReader('test');
    const json = readJsonFile('fixtures/hf/tokenizers/bpe512-chat/tokenizer.json') as { pre_tokenizer: { pretokenizers: unknown[] } };
    const split = buildPreTokenizer(r, json.pre_tokenizer.pretokenizers[0], 'p')!;
    const words = preTokenizeAll(split, [piece("THEY'RE here, I'M sure WE'LL go; it'S x'D", null, true)]).map((p) => p.s);
    expect(words).toEqual(['THEY', "'RE", ' here', ',', ' I', "'M", ' sure', ' WE', "'LL", ' go', ';', ' it', "'S", ' x', "'D"]);
    const ids = chat.tok.encode("THEY'RE");
    expect(chat.tok.decode(ids)).toBe("THEY'RE");
  });

  it('special tokens inside text are matched before pre-tokenization', () => {
    const ids = chat.tok.encode('a<|im_end|>b<|im_start|><|im_start|>x <|endoftext|>');
    expect(ids.filter((i) => i < 3)).toEqual([2, 1, 1, 0]);
    expect(chat.tok.decode(ids)).toBe('a<|im_end|>b<|im_start|><|im_start|>x <|endoftext|>');
    expect(chat.tok.decode(ids, { skipSpecialTokens: true })).toBe('abx ');
    expect(chat.tok.isSpecialId(2)).toBe(true);
    expect(chat.tok.isSpecialId(100)).toBe(false);

    const g = gpt2.tok.encode('end.<|endoftext|>Next');
    expect(g).toContain(50256);
    expect(g).toEqual([...gpt2.tok.encode('end.'), 50256, ...gpt2.tok.encode('Next')]);
    // an incomplete special token is plain text
    expect(gpt2.tok.encode('<|endoftext|')).not.toContain(50256);
  });

  it('decoding invalid UTF-8 gives U+FFFD per maximal invalid subsequence', () => {
    const id = (b: number) => gpt2.tok.tokenToId(BYTE_TO_CHAR[b]!)!;
    expect(gpt2.tok.decode([id(0xff)])).toBe('\ufffd');
    expect(gpt2.tok.decode([id(0xf0), id(0x9f)])).toBe('\ufffd'); // truncated 4-byte sequence
    expect(gpt2.tok.decode([id(0xf0), id(0x9f), id(0x41)])).toBe('\ufffdA');
    expect(gpt2.tok.decode([id(0xed), id(0xa0), id(0x80)])).toBe('\ufffd\ufffd\ufffd'); // encoded surrogate
    expect(gpt2.tok.decode([id(0xc3), id(0x28)])).toBe('\ufffd(');
    expect(gpt2.tok.decode([id(0xef), id(0xbb), id(0xbf), id(0x41)])).toBe('\ufeffA'); // BOM kept
    // the halves of an emoji split across tokens decode to the emoji together, not apart
    const e = gpt2.tok.encode('🤗');
    expect(e.length).toBeGreaterThan(1);
    expect(gpt2.tok.decode(e)).toBe('🤗');
    expect(gpt2.tok.decode(e.slice(0, 1))).toContain('\ufffd');
    expect(utf8Lossy([0xe2, 0x82])).toBe('\ufffd');
  });

  it('added tokens go through the ByteLevel decoder like the crate: plain ones come out verbatim', () => {
    const tok = Tokenizer.fromJson(
      syntheticJson({
        added_tokens: [
          { id: 300, content: '<tool call>', special: false, normalized: false },
          { id: 301, content: '<|eot|>', special: true, normalized: false },
          { id: 302, content: '日本', special: false, normalized: false },
        ],
      }),
    );
    const ids = tok.encode('x<tool call>日本<|eot|>');
    expect(ids).toEqual([...bytesOf('x'), 300, 302, 301]);
    // a space or a character outside the byte table makes the crate use the token's UTF-8 bytes
    expect(tok.decode(ids)).toBe('x<tool call>日本<|eot|>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('x<tool call>日本');
    expect(tok.vocabSize).toBe(302 + 1);
  });

  it('addSpecialTokens applies TemplateProcessing and RobertaProcessing', () => {
    const extra = ['<s>', '</s>'];
    const tpl = Tokenizer.fromJson(
      syntheticJson(
        {
          post_processor: {
            type: 'TemplateProcessing',
            single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
            pair: [],
            special_tokens: { '<s>': { id: '<s>', ids: [256], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [257], tokens: ['</s>'] } },
          },
        },
        extra,
      ),
    );
    expect(tpl.encode('hi')).toEqual(bytesOf('hi'));
    expect(tpl.encode('hi', { addSpecialTokens: true })).toEqual([256, ...bytesOf('hi'), 257]);
    const rob = Tokenizer.fromJson(syntheticJson({ post_processor: { type: 'RobertaProcessing', sep: ['</s>', 257], cls: ['<s>', 256] } }, extra));
    expect(rob.encode('hi', { addSpecialTokens: true })).toEqual([256, ...bytesOf('hi'), 257]);
    // bpe512-chat's template adds nothing; gpt2's ByteLevel processor adds nothing
    expect(chat.tok.encode('hi', { addSpecialTokens: true })).toEqual(chat.tok.encode('hi'));
    expect(gpt2.tok.encode('hi', { addSpecialTokens: true })).toEqual(gpt2.tok.encode('hi'));
  });
});

describe('added token options (as in the crate tests)', () => {
  const lower = { type: 'Lowercase' };
  const noRegex = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false };
  const mk = (added: Record<string, unknown>[]) =>
    Tokenizer.fromJson(
      syntheticJson({
        normalizer: lower,
        pre_tokenizer: noRegex,
        added_tokens: added.map((a, k) => ({ id: 1000 + k, single_word: false, lstrip: false, rstrip: false, normalized: true, special: false, ...a })),
      }),
    );

  it('lstrip/rstrip, normalized and single_word', () => {
    const tok = mk([
      { content: 'my', lstrip: true, rstrip: true },
      { content: 'name' },
      { content: 'ony', single_word: true },
      { content: '[CLS]', special: true, normalized: false },
      { content: '[SEP]', special: true, normalized: false },
    ]);
    expect(tok.encode('[CLS] My name is Anthony [SEP]')).toEqual([1003, 1000, 1001, ...bytesOf(' is anthony '), 1004]);
  });

  it('single_word needs non-word neighbours', () => {
    const tok = mk([{ content: '<mask>', single_word: true }]);
    expect(tok.encode('<mask> My name <mask> A<mask> <mask>ony <mask>')).toEqual([
      1000,
      ...bytesOf(' my name '),
      1000,
      ...bytesOf(' a<mask> <mask>ony '),
      1000,
    ]);
    // punctuation is not a word character; a combining mark is
    expect(tok.encode('<mask>, <mask>- \u25cc\u0330<mask>')).toEqual([1000, ...bytesOf(', '), 1000, ...bytesOf('- \u25cc\u0330<mask>')]);
  });

  it('lstrip/rstrip take unicode whitespace and never overlap', () => {
    const tok = mk([{ content: '<mask>', single_word: true, lstrip: true, rstrip: true }]);
    expect(tok.encode('Hi <mask> there\t<mask>\t<mask>\u2000')).toEqual([...bytesOf('hi'), 1000, ...bytesOf('there'), 1000, 1000]);
  });

  it('longest match wins', () => {
    const tok = mk([
      { content: '<a>', normalized: false },
      { content: '<a><b>', normalized: false },
    ]);
    expect(tok.encode('x<a><b><a>')).toEqual([...bytesOf('x'), 1001, 1000]);
  });
});

describe('normalizers, pre-tokenizers, model options', () => {
  it('Sequence of NFKC, Replace, Prepend, Strip, Lowercase normalizers', () => {
    const tok = Tokenizer.fromJson(
      syntheticJson({
        normalizer: {
          type: 'Sequence',
          normalizers: [
            { type: 'Strip', strip_left: true, strip_right: true },
            { type: 'NFKC' },
            { type: 'Replace', pattern: { String: ' ' }, content: '_' },
            { type: 'Replace', pattern: { Regex: '\\d+' }, content: '#' },
            { type: 'Lowercase' },
            { type: 'Prepend', prepend: '>' },
          ],
        },
        pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: false },
      }),
    );
    expect(tok.decode(tok.encode('  Ｈｅｌｌｏ ﬁne WORLD 42x  '))).toBe('>hello_fine_world_#x');
    expect(tok.decode(tok.encode(''))).toBe('');
  });

  it('encodeWithOffsets gives the input range behind each token', () => {
    const text = 'a🤗b <|endoftext|> ok';
    const { ids, offsets } = gpt2.tok.encodeWithOffsets(text);
    expect(ids).toEqual(gpt2.tok.encode(text));
    expect(ids[6]).toBe(50256);
    // the emoji's 4 bytes are split over 3 tokens: each covers the whole emoji
    expect(offsets).toEqual([
      [0, 1],
      [1, 3],
      [1, 3],
      [1, 3],
      [3, 4],
      [4, 5],
      [5, 18],
      [18, 21],
    ]);
    // add_prefix_space inserts a space that covers nothing of the input
    const pre = Tokenizer.fromJson(syntheticJson({ pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, use_regex: true } }));
    expect(pre.encodeWithOffsets('hi').offsets).toEqual([
      [0, 0],
      [0, 1],
      [1, 2],
    ]);
  });

  it('NFD and NFC; offsets map back through them', () => {
    const nfd = Tokenizer.fromJson(syntheticJson({ normalizer: { type: 'NFD' } }));
    expect(nfd.encode('é')).toEqual(bytesOf('e\u0301'));
    const nfc = Tokenizer.fromJson(syntheticJson({ normalizer: { type: 'NFC' }, pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true } }));
    const text = 'cafe\u0301 x';
    const { ids, offsets } = nfc.encodeWithOffsets(text);
    expect(ids).toEqual(bytesOf('café x'));
    // c a f é(2 bytes) space x
    expect(offsets).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 5],
      [3, 5],
      [5, 6],
      [6, 7],
    ]);
  });

  it('Split behaviors and invert, Digits, Whitespace, WhitespaceSplit, Metaspace', () => {
    const r = new JsonReader('t');
    const run = (cfg: unknown, s: string) => preTokenizeAll(buildPreTokenizer(r, cfg, 'p')!, [piece(s, null, true)]).map((p) => p.s);
    const split = (behavior: string, invert = false) => ({ type: 'Split', pattern: { String: '-' }, behavior, invert });
    const s = 'the-final--countdown-';
    expect(run(split('Removed'), s)).toEqual(['the', 'final', 'countdown']);
    expect(run(split('Isolated'), s)).toEqual(['the', '-', 'final', '-', '-', 'countdown', '-']);
    expect(run(split('MergedWithPrevious'), s)).toEqual(['the-', 'final-', '-', 'countdown-']);
    expect(run(split('MergedWithNext'), s)).toEqual(['the', '-final', '-', '-countdown', '-']);
    expect(run(split('Contiguous'), s)).toEqual(['the', '-', 'final', '--', 'countdown', '-']);
    expect(run(split('Removed', true), s)).toEqual(['-', '-', '-', '-']);
    expect(run({ type: 'Split', pattern: { Regex: '-+' }, behavior: 'Removed', invert: true }, s)).toEqual(['-', '--', '-']);
    expect(run({ type: 'Digits', individual_digits: true }, 'a123b')).toEqual(['a', '1', '2', '3', 'b']);
    // empty matches end the gap before them (x* matches empty between letters)
    expect(run({ type: 'Split', pattern: { Regex: 'x*' }, behavior: 'Isolated' }, 'abxxc')).toEqual(['a', 'b', 'xx', 'c']);
    expect(run({ type: 'Split', pattern: { Regex: 'x*' }, behavior: 'Removed' }, 'abxxc')).toEqual(['a', 'b', 'c']);
    expect(run({ type: 'Digits', individual_digits: false }, 'a123b')).toEqual(['a', '123', 'b']);
    expect(run({ type: 'Whitespace' }, 'Hey friend!  How are you?!?')).toEqual(['Hey', 'friend', '!', 'How', 'are', 'you', '?!?']);
    expect(run({ type: 'WhitespaceSplit' }, 'Hey friend!\u2003How')).toEqual(['Hey', 'friend!', 'How']);
    expect(run({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }, 'Hey  friend')).toEqual(['▁Hey', '▁', '▁friend']);
    expect(run({ type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Digits', individual_digits: true }] }, 'ab12 c3')).toEqual([
      'ab',
      '1',
      '2',
      'c',
      '3',
    ]);
  });

  it('ByteLevel add_prefix_space', () => {
    const tok = Tokenizer.fromJson(syntheticJson({ pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, use_regex: true } }));
    expect(tok.encode('hi')).toEqual(bytesOf(' hi'));
    expect(tok.encode(' hi')).toEqual(bytesOf(' hi'));
  });

  it('merges in both forms, ignore_merges, byte_fallback and unk', () => {
    const G = BYTE_TO_CHAR[32]!; // 'Ġ'
    const legacy = Tokenizer.fromJson(syntheticJson({}, ['ab', 'abc', `${G}a`], [['a', 'b'], ['ab', 'c'], [G, 'a']]));
    const pairs = (() => {
      const j = syntheticJson({}, ['ab', 'abc', `${G}a`]);
      (j['model'] as Record<string, unknown>)['merges'] = ['a b', 'ab c', `${G} a`];
      return Tokenizer.fromJson(j);
    })();
    for (const t of [legacy, pairs]) {
      // "Ġabd": (a,b) outranks (Ġ,a); "Ġac": only (Ġ,a) applies
      expect(t.encode('abc ac abd')).toEqual([257, 258, 99, 32, 256, 100]);
      expect(t.decode(t.encode('abc ac abd'))).toBe('abc ac abd');
    }
    // ignore_merges: a word that is in the vocabulary is emitted whole even without a merge path
    const base = syntheticJson({}, ['xyz']);
    expect(Tokenizer.fromJson(base).encode('xyz')).toEqual(bytesOf('xyz'));
    (base['model'] as Record<string, unknown>)['ignore_merges'] = true;
    expect(Tokenizer.fromJson(base).encode('xyz')).toEqual([256]);

    // A Metaspace/byte-fallback (Llama-2 style) model
    const vocab: Record<string, number> = { '<unk>': 0, '▁': 1, h: 2, i: 3, '▁h': 4, '▁hi': 5 };
    for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 10 + b;
    const llama = (byteFallback: boolean) =>
      Tokenizer.fromJson({
        normalizer: null,
        pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
        decoder: {
          type: 'Sequence',
          decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
        },
        model: { type: 'BPE', vocab, merges: [['▁', 'h'], ['▁h', 'i']], unk_token: '<unk>', byte_fallback: byteFallback, fuse_unk: true },
      });
    const bf = llama(true);
    expect(bf.encode('hi hié')).toEqual([5, 5, 10 + 0xc3, 10 + 0xa9]);
    expect(bf.encode('hi hé')).toEqual([5, 4, 10 + 0xc3, 10 + 0xa9]);
    expect(bf.decode(bf.encode('hi hé'))).toBe('hi hé');
    expect(bf.decode([5, 10 + 0xc3])).toBe('hi\ufffd');
    const unk = llama(false);
    expect(unk.encode('hi hié€')).toEqual([5, 5, 0]); // fused unk
  });

  it('the heap merge loop and the linear one agree', () => {
    const bpe = gpt2.tok.bpe;
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const alphabet = 'abcdefghijklmnopqrstuvwxyzĠ0123456789eeeaaaiioo';
    for (let k = 0; k < 300; k++) {
      const len = 1 + Math.floor(rnd() * 80);
      let w = '';
      for (let j = 0; j < len; j++) w += alphabet[Math.floor(rnd() * alphabet.length)];
      expect(bpe.mergeForTest(w, true), w).toEqual(bpe.mergeForTest(w, false));
    }
  });
});

describe('Oniguruma → JavaScript regex', () => {
  const all = (pattern: string, s: string) => [...s.matchAll(compileOnig(pattern))].map((m) => m[0]);

  it('expands inline case-insensitive groups generically', () => {
    expect(onigToJs("(?i:'s|x)")).toBe("(?:'[Ssſ]|[Xx])");
    expect(all("(?i:'ll|'d)z", "'LLz 'lLz 'Dz 'dZ")).toEqual(["'LLz", "'lLz", "'Dz"]);
    expect(all('a(?i)b|c', 'aB C ab')).toEqual(['aB', 'C', 'ab']);
    expect(all('(?i)[a-c]+', 'xAbCdx')).toEqual(['AbC']);
    expect(all('(?i:k)', 'kK\u212a')).toEqual(['k', 'K', '\u212a']);
  });

  it('uses Oniguruma meanings of \\s \\d \\w . ^ $', () => {
    expect(compileOnig('^\\s$').test('\u0085')).toBe(true);
    expect(compileOnig('^\\s$').test('\ufeff')).toBe(false);
    expect(all('\\d+', '12٣٤x')).toEqual(['12٣٤']);
    expect(all('\\w+', 'héllo_wörld—ok')).toEqual(['héllo_wörld', 'ok']);
    expect(all('.+', 'a\rb\nc')).toEqual(['a\rb', 'c']);
    expect(all('^x', 'x\nx')).toEqual(['x', 'x']);
    expect(all('[^\\S\\n]+', 'a \t\nb')).toEqual([' \t']);
    expect(all('\\s+(?!\\S)|\\s+', 'a   b')).toEqual(['  ', ' ']);
  });

  it('atomic groups, possessive quantifiers, literal braces', () => {
    expect(all('(?>a+)a', 'aaa')).toEqual([]);
    expect(all('a++a', 'aaa')).toEqual([]);
    expect(all('a*+b', 'aab')).toEqual(['aab']);
    expect(all('\\p{N}{1,3}', '12345')).toEqual(['123', '45']);
    expect(all('a{,2}', 'aaa').filter(Boolean)).toEqual(['aa', 'a']);
    expect(all('{x}', '{x}')).toEqual(['{x}']);
  });

  it('rejects what it cannot translate', () => {
    expect(() => compileOnig('(a)\\1')).toThrow(RegexSyntaxError);
    expect(() => compileOnig('[a&&b]')).toThrow(/intersection/);
    expect(() => compileOnig('(a')).toThrow(/missing "\)"/);
  });
});

describe('large inputs', () => {
  it('loads gpt2 and encodes a few MB consistently', () => {
    const raw = readFileSync(shared('fixtures/hf/tokenizers/gpt2/tokenizer.json'), 'utf8');
    const tok = Tokenizer.fromJson(JSON.parse(raw));

    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const syl = ['the', 'an', 'ing', 'tion', 'er', 'st', 'pro', 'con', 'ex', 'ly', 'qu', 'ough', 'ble', 'ment', 'ar', 'ive', 'al', 'co', 'de', 're', 'ma', 'ni', 'ko', 'zu', 'sh'];
    const parts: string[] = [];
    let size = 0;
    while (size < 3_000_000) {
      const n = 1 + Math.floor(rnd() * 4);
      let w = '';
      for (let k = 0; k < n; k++) w += syl[Math.floor(rnd() * syl.length)];
      if (rnd() < 0.1) w = w[0]!.toUpperCase() + w.slice(1);
      if (rnd() < 0.05) w = String(Math.floor(rnd() * 100000));
      const sep = rnd() < 0.08 ? '. ' : rnd() < 0.05 ? ',\n' : ' ';
      parts.push(w + sep);
      size += w.length + sep.length;
    }
    const text = parts.join('');
    const ids = tok.encode(text);
    expect(ids.length).toBeGreaterThan(text.length / 8);
    expect(tok.decode(ids)).toBe(text);
    expect(tok.decode(ids.slice(0, 5000))).toBe(tok.decode(tok.encode(tok.decode(ids.slice(0, 5000)))));

    // 100k short records
    const records = parts.slice(0, 100_000);
    let n = 0;
    for (const r of records) n += tok.encode(r).length;
    expect(n).toBeGreaterThanOrEqual(records.length);
  });
});
