import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.ts';
import { alpacaPrompt } from '../../src/core/data/formats.ts';
import { parseColumnMapping } from '../../src/core/data/columns.ts';
import { importDataset, parseDataset, type ImportResult } from '../../src/core/data/import.ts';
import { detectFormat } from '../../src/core/data/parsers.ts';
import type { DataRecord } from '../../src/core/data/records.ts';

const recs = (r: ImportResult): DataRecord[] => r.records.map((x) => x.record);
const lines = (r: ImportResult): number[] => r.records.map((x) => x.source.line);
const problems = (r: ImportResult): [number, string][] => r.problems.map((p) => [p.source.line, p.reason]);
const jsonl = (...rows: unknown[]): string => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');

describe('file types', () => {
  it('JSONL: one object per line, blank lines skipped, CRLF and BOM tolerated, lines counted', () => {
    const text = '\uFEFF{"text":"Grüße aus Köln 🍺"}\r\n\r\n   \n{"text":"日本語のテキスト"}\r\n{"text":"שלום עולם"}\n';
    const r = parseDataset('d.jsonl', text);
    expect(r.format).toBe('jsonl');
    expect(r.detected).toBe('text');
    expect(recs(r)).toEqual([
      { kind: 'text', text: 'Grüße aus Köln 🍺' },
      { kind: 'text', text: '日本語のテキスト' },
      { kind: 'text', text: 'שלום עולם' },
    ]);
    expect(lines(r)).toEqual([1, 4, 5]);
    expect(r.problems).toEqual([]);
    expect(r.records[0]!.source.file).toBe('d.jsonl');
  });

  it('JSON: a top-level array, with the line where each item starts', () => {
    const text = `[\n  {"prompt": "2+2=", "completion": "4"},\n  {\n    "prompt": "Capital of 🇫🇷?",\n    "completion": "Paris"\n  },\n  {"prompt": "[{,]}\\"", "completion": "x"}\n]`;
    const r = parseDataset('d.json', text);
    expect(r.format).toBe('json');
    expect(recs(r)).toEqual([
      { kind: 'prompt', prompt: '2+2=', completion: '4' },
      { kind: 'prompt', prompt: 'Capital of 🇫🇷?', completion: 'Paris' },
      { kind: 'prompt', prompt: '[{,]}"', completion: 'x' },
    ]);
    expect(lines(r)).toEqual([2, 3, 7]);
  });

  it('JSON: an object with a "data", "train" or "rows" array', () => {
    for (const key of ['data', 'train', 'rows']) {
      const text = `{"version": "data", "other": [1, 2],\n "${key}": [\n {"text": "a"},\n 5,\n {"text": "b"}]}`;
      const r = parseDataset('d.json', text);
      expect(recs(r)).toEqual([{ kind: 'text', text: 'a' }, { kind: 'text', text: 'b' }]);
      expect(lines(r)).toEqual([3, 5]);
      expect(problems(r)).toEqual([[4, 'item 2: expected a JSON object, got a number']]);
    }
  });

  it('JSON: a file that does not parse or holds no records throws InputError naming the file', () => {
    expect(() => parseDataset('bad.json', '[{"text": "a"},')).toThrow(InputError);
    expect(() => parseDataset('bad.json', '[{"text": "a"},')).toThrow(/^bad\.json: not valid JSON/);
    expect(() => parseDataset('obj.json', '{"foo": [1]}', { format: 'json' })).toThrow(/obj\.json: expected a JSON array of records/);
    // auto-detected, a one-line object is one JSONL record
    expect(problems(parseDataset('obj.json', '{"foo": 1}'))).toEqual([[1, expect.stringMatching(/^no known fields/)]]);
  });

  it('a .json file that is really JSONL is read as JSONL', () => {
    const r = parseDataset('d.json', jsonl({ text: 'a' }, { text: 'b' }));
    expect(r.format).toBe('jsonl');
    expect(recs(r)).toHaveLength(2);
  });

  it('CSV: header row, quoted fields with commas, quotes and newlines, line numbers of multi-line rows', () => {
    const text = 'prompt,completion,category\n"Say ""hi""","hi, there",greet\n"Write a poem\nabout 🌧️","Rain falls\nsoftly",poem\n\nПривет,Мир,ru\n';
    const r = parseDataset('d.csv', text);
    expect(r.format).toBe('csv');
    expect(r.columns).toEqual(['prompt', 'completion', 'category']);
    expect(recs(r)).toEqual([
      { kind: 'prompt', prompt: 'Say "hi"', completion: 'hi, there' },
      { kind: 'prompt', prompt: 'Write a poem\nabout 🌧️', completion: 'Rain falls\nsoftly' },
      { kind: 'prompt', prompt: 'Привет', completion: 'Мир' },
    ]);
    expect(lines(r)).toEqual([2, 3, 7]);
    expect(r.records.map((x) => x.fields)).toEqual([{ category: 'greet' }, { category: 'poem' }, { category: 'ru' }]);
  });

  it('CSV with CRLF line ends', () => {
    const r = parseDataset('d.csv', 'text,lang\r\nhello,en\r\n"two\r\nlines",en\r\nbonjour,fr\r\n');
    expect(recs(r)).toEqual([
      { kind: 'text', text: 'hello' },
      { kind: 'text', text: 'two\r\nlines' },
      { kind: 'text', text: 'bonjour' },
    ]);
    expect(lines(r)).toEqual([2, 3, 5]);
  });

  it('TSV', () => {
    const r = parseDataset('d.tsv', 'instruction\tinput\toutput\nTranslate\tcat\tgato\nCount to 3\t\t1 2 3\n');
    expect(r.format).toBe('tsv');
    expect(recs(r)).toEqual([
      { kind: 'prompt', prompt: alpacaPrompt('Translate', 'cat'), completion: 'gato' },
      { kind: 'prompt', prompt: alpacaPrompt('Count to 3'), completion: '1 2 3' },
    ]);
  });

  it('plain text by lines, paragraphs, or as one document', () => {
    const text = 'First line 🙂\nsecond line\n\n\n  \nThird — paragraph\r\nstill third\n';
    const byLines = parseDataset('d.txt', text);
    expect(byLines.format).toBe('text');
    expect(recs(byLines)).toEqual([
      { kind: 'text', text: 'First line 🙂' },
      { kind: 'text', text: 'second line' },
      { kind: 'text', text: 'Third — paragraph' },
      { kind: 'text', text: 'still third' },
    ]);
    expect(lines(byLines)).toEqual([1, 2, 6, 7]);
    const paras = parseDataset('d.txt', text, { textMode: 'paragraphs' });
    expect(recs(paras)).toEqual([
      { kind: 'text', text: 'First line 🙂\nsecond line' },
      { kind: 'text', text: 'Third — paragraph\nstill third' },
    ]);
    expect(lines(paras)).toEqual([1, 6]);
    const doc = parseDataset('d.txt', text, { textMode: 'document' });
    expect(recs(doc)).toEqual([{ kind: 'text', text }]);
    expect(parseDataset('empty.txt', '\n \n').records).toEqual([]);
    expect(parseDataset('empty.txt', '\n \n').detected).toBeNull();
  });

  it('takes bytes, and rejects bytes that are not UTF-8', () => {
    const bytes = new TextEncoder().encode('{"text":"naïve café ☕"}\n');
    expect(recs(parseDataset('d.jsonl', bytes))).toEqual([{ kind: 'text', text: 'naïve café ☕' }]);
    // JSONL is decoded line by line: the bad line is reported, the rest import
    const bad = parseDataset('d.jsonl', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));
    expect(bad.records).toEqual([]);
    expect(problems(bad)).toEqual([[1, 'is not UTF-8 text (byte 2 of the line); the other lines are read']]);
    expect(() => parseDataset('d.csv', new Uint8Array([0x61, 0x0a, 0xff, 0xfe]))).toThrow(/d\.csv: is not UTF-8/);
  });

  it('detects the file type from the content when the extension says nothing', () => {
    expect(detectFormat('upload', '[{"text":"a"}]')).toBe('json');
    expect(detectFormat('upload', '{"text":"a"}\n{"text":"b"}\n')).toBe('jsonl');
    expect(detectFormat('upload', '{"data":[{"text":"a"}]}')).toBe('json');
    expect(detectFormat('upload', '{"text":"a"}\n')).toBe('jsonl');
    expect(detectFormat('one.json', '{"text":"a"}')).toBe('jsonl');
    expect(detectFormat('pretty.json', '{\n  "rows": [\n    {"text": "a"}\n  ]\n}')).toBe('json');
    expect(detectFormat('upload', 'prompt,completion\na,b\n')).toBe('csv');
    expect(detectFormat('upload', 'prompt\tcompletion\na\tb\n')).toBe('tsv');
    expect(detectFormat('upload', 'Once upon a time, there was a fox.\nThe end.')).toBe('text');
    expect(detectFormat('D.JSONL', '')).toBe('jsonl');
    expect(detectFormat('notes.md', '# hi')).toBe('text');
    // an explicit format wins over the name
    expect(parseDataset('x.txt', '{"text":"a"}', { format: 'jsonl' }).format).toBe('jsonl');
  });
});

describe('record formats', () => {
  it('text, prompt+completion, messages, ShareGPT, pre-tokenized: detected per row', () => {
    const r = parseDataset(
      'mixed.jsonl',
      jsonl(
        { text: 'Ελληνικά κείμενο' },
        { prompt: '', completion: 'no prompt is fine' },
        { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: '¿Qué tal?' }, { role: 'assistant', content: 'Bien 👍' }] },
        { conversations: [{ from: 'system', value: 's' }, { from: 'human', value: '你好' }, { from: 'gpt', value: '你好！' }] },
        { input_ids: [5, 6, 7] },
        { input_ids: [5, 6, 7], labels: [-100, 6, 7] },
      ),
    );
    expect(r.problems).toEqual([]);
    expect(recs(r)).toEqual([
      { kind: 'text', text: 'Ελληνικά κείμενο' },
      { kind: 'prompt', prompt: '', completion: 'no prompt is fine' },
      {
        kind: 'chat',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: '¿Qué tal?' },
          { role: 'assistant', content: 'Bien 👍' },
        ],
      },
      {
        kind: 'chat',
        messages: [
          { role: 'system', content: 's' },
          { role: 'user', content: '你好' },
          { role: 'assistant', content: '你好！' },
        ],
      },
      { kind: 'tokens', inputIds: [5, 6, 7] },
      { kind: 'tokens', inputIds: [5, 6, 7], labels: [-100, 6, 7] },
    ]);
    expect(r.kinds).toEqual({ text: 1, prompt: 1, chat: 2, tokens: 2 });
    expect(r.detected).toBe('chat');
  });

  it('Alpaca: the standard prompt text (with and without input), or a chat when asked', () => {
    const text = jsonl({ instruction: 'Translate to German', input: 'good morning', output: 'Guten Morgen' }, { instruction: 'Name a color', input: '', output: 'Blue' }, { instruction: 'Say hi', output: 'Hi' });
    const r = parseDataset('alpaca.json', text);
    expect(recs(r)).toEqual([
      {
        kind: 'prompt',
        prompt:
          'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n' +
          '### Instruction:\nTranslate to German\n\n### Input:\ngood morning\n\n### Response:\n',
        completion: 'Guten Morgen',
      },
      {
        kind: 'prompt',
        prompt: 'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nName a color\n\n### Response:\n',
        completion: 'Blue',
      },
      { kind: 'prompt', prompt: alpacaPrompt('Say hi'), completion: 'Hi' },
    ]);
    const c = parseDataset('alpaca.jsonl', text, { alpacaAs: 'chat' });
    expect(recs(c)[0]).toEqual({
      kind: 'chat',
      messages: [
        { role: 'user', content: 'Translate to German\n\ngood morning' },
        { role: 'assistant', content: 'Guten Morgen' },
      ],
    });
    expect(recs(c)[1]).toEqual({ kind: 'chat', messages: [{ role: 'user', content: 'Name a color' }, { role: 'assistant', content: 'Blue' }] });
    // $-patterns in the user's text are not replacement patterns
    expect(alpacaPrompt('cost $& $1', "$'")).toContain("### Instruction:\ncost $& $1\n\n### Input:\n$'\n");
  });

  it('TRL conversational prompt-completion (message lists) becomes one chat', () => {
    const r = parseDataset('c.jsonl', jsonl({ prompt: [{ role: 'user', content: 'Q' }], completion: [{ role: 'assistant', content: 'A' }] }));
    expect(recs(r)).toEqual([{ kind: 'chat', messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }] }]);
  });

  it('messages and conversations accept either style; text parts are joined', () => {
    const r = parseDataset(
      'm.jsonl',
      jsonl(
        { messages: [{ from: 'human', value: 'hi' }, { from: 'gpt', value: 'yo' }] },
        { conversations: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }, { role: 'assistant', content: 'c' }] },
      ),
    );
    expect(recs(r)).toEqual([
      { kind: 'chat', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }] },
      { kind: 'chat', messages: [{ role: 'user', content: 'ab' }, { role: 'assistant', content: 'c' }] },
    ]);
  });

  it('CSV cells holding JSON lists (messages, input_ids, labels)', () => {
    const text = 'messages,input_ids,labels,split\n"[{""role"":""user"",""content"":""hi""},{""role"":""assistant"",""content"":""hey""}]",,,a\n,"[1,2,3]","[-100,2,3]",b\n,"[4,5]",,c\n';
    const r = parseDataset('d.csv', text);
    expect(r.problems).toEqual([]);
    // an empty cell of a list column means the row is in another format
    expect(recs(r)).toEqual([
      { kind: 'chat', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hey' }] },
      { kind: 'tokens', inputIds: [1, 2, 3], labels: [-100, 2, 3] },
      { kind: 'tokens', inputIds: [4, 5] },
    ]);
    expect(r.records.map((x) => x.fields)).toEqual([{ split: 'a' }, { split: 'b' }, { split: 'c' }]);
  });

  it('keeps the other fields of each row', () => {
    const r = parseDataset('d.jsonl', jsonl({ text: 'a', category: 'math', score: 3, meta: { src: 'x' } }, { text: 'b' }));
    expect(r.records[0]!.fields).toEqual({ category: 'math', score: 3, meta: { src: 'x' } });
    expect(r.records[1]!.fields).toBeUndefined();
    // "__proto__" stays an ordinary key and pollutes nothing
    const p = parseDataset('p.jsonl', '{"text":"a","__proto__":{"polluted":true}}');
    expect(Object.keys(p.records[0]!.fields!)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('column mapping', () => {
  it('maps the user field names to the known fields', () => {
    const text = 'question,answer,topic\nWhat is 2+2?,4,math\nWho wrote Faust?,Goethe,lit\n';
    const r = parseDataset('qa.csv', text, { columns: { prompt: 'question', completion: 'answer' } });
    expect(recs(r)).toEqual([
      { kind: 'prompt', prompt: 'What is 2+2?', completion: '4' },
      { kind: 'prompt', prompt: 'Who wrote Faust?', completion: 'Goethe' },
    ]);
    expect(r.records[0]!.fields).toEqual({ topic: 'math' });
  });

  it('maps chat, text, Alpaca and token fields', () => {
    const r = parseDataset(
      'm.jsonl',
      jsonl({ dialog: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }] }, { body: 'plain' }, { task: 'Do', ctx: 'it', answer: 'done' }, { ids: [1, 2], mask: [-100, 2] }),
      { columns: { messages: 'dialog', text: 'body', instruction: 'task', input: 'ctx', output: 'answer', input_ids: 'ids', labels: 'mask' } },
    );
    expect(r.problems).toEqual([]);
    expect(recs(r)).toEqual([
      { kind: 'chat', messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }] },
      { kind: 'text', text: 'plain' },
      { kind: 'prompt', prompt: alpacaPrompt('Do', 'it'), completion: 'done' },
      { kind: 'tokens', inputIds: [1, 2], labels: [-100, 2] },
    ]);
  });

  it('a mapped field that is missing is reported under the user name', () => {
    const r = parseDataset('qa.jsonl', jsonl({ question: 'q' }), { columns: { prompt: 'question', completion: 'answer' } });
    expect(problems(r)).toEqual([[1, 'has "question" (prompt) but no "answer" (completion)']]);
  });
});

describe('malformed rows: reported with file, line and reason; the rest import', () => {
  it('JSONL', () => {
    const text = jsonl(
      { text: 'ok 1' },
      '{"text": "unterminated',
      '[1, 2]',
      { text: 42 },
      { text: '   ' },
      { prompt: 'p' },
      { completion: 'c' },
      { prompt: 'p', completion: '' },
      { prompt: 7, completion: 'c' },
      { instruction: 'i' },
      { instruction: '', output: 'o' },
      { messages: [] },
      { messages: 'not a list' },
      { messages: [{ role: 'user' }] },
      { messages: [{ role: 5, content: 'x' }] },
      { messages: [{ content: 'x' }] },
      { messages: ['x'] },
      { conversations: [{ from: 'bing', value: 'x' }] },
      { input_ids: [] },
      { input_ids: [1, 2.5] },
      { input_ids: [1, -100] },
      { input_ids: [1, 2], labels: [2] },
      { input_ids: [1, 2], labels: [-1, 2] },
      { foo: 'bar', baz: 1 },
      { prompt: [{ role: 'user', content: 'q' }], completion: 'a' },
      { text: 'ok 2' },
    );
    const r = parseDataset('bad.jsonl', text);
    expect(recs(r)).toEqual([{ kind: 'text', text: 'ok 1' }, { kind: 'text', text: 'ok 2' }]);
    expect(lines(r)).toEqual([1, 26]);
    expect(r.problems.every((p) => p.source.file === 'bad.jsonl')).toBe(true);
    const got = problems(r);
    expect(got.map(([l]) => l)).toEqual(Array.from({ length: 24 }, (_, i) => i + 2));
    const reason = (line: number) => got.find(([l]) => l === line)![1];
    expect(reason(2)).toMatch(/^not valid JSON: /);
    expect(reason(3)).toBe('expected a JSON object, got an array');
    expect(reason(4)).toBe('"text" must be a string, got a number');
    expect(reason(5)).toBe('"text" is empty');
    expect(reason(6)).toBe('has "prompt" but no "completion"');
    expect(reason(7)).toBe('has "completion" but no "prompt"');
    expect(reason(8)).toBe('"completion" is empty');
    expect(reason(9)).toBe('"prompt" must be a string, got a number');
    expect(reason(10)).toBe('has "instruction" but no "output"');
    expect(reason(11)).toBe('"instruction" is empty');
    expect(reason(12)).toBe('"messages" is an empty list');
    expect(reason(13)).toBe('"messages" must be a list of messages, got a string');
    expect(reason(14)).toBe('"messages"[0].content must be a string, got nothing');
    expect(reason(15)).toMatch(/^"messages"\[0\]\.role must be a non-empty string, got a number/);
    expect(reason(16)).toMatch(/^"messages"\[0\]\.role must be a non-empty string, got nothing/);
    expect(reason(17)).toBe('"messages"[0] must be an object, got a string');
    expect(reason(18)).toMatch(/^"conversations"\[0\]\.from is "bing"; expected human, gpt or system/);
    expect(reason(19)).toBe('"input_ids" is an empty list');
    expect(reason(20)).toBe('"input_ids"[1] is 2.5; expected a token id ≥ 0');
    expect(reason(21)).toBe('"input_ids"[1] is -100; expected a token id ≥ 0');
    expect(reason(22)).toBe('"labels" has 1 items but "input_ids" has 2');
    expect(reason(23)).toBe('"labels"[0] is -1; expected a token id ≥ 0 or -100');
    expect(reason(24)).toMatch(/^no known fields: expected one of input_ids, messages, conversations, instruction\+output, prompt\+completion, text \(found "foo", "baz"\)/);
    expect(reason(25)).toBe('"prompt" and "completion" must both be strings or both be message lists');
  });

  it('CSV: wrong field counts and an unclosed quote', () => {
    const text = 'text,tag\ngood,a\ntoo,many,fields\nfew\n"fine, quoted",b\n"never closed,c\nmore\n';
    const r = parseDataset('bad.csv', text);
    expect(recs(r)).toEqual([{ kind: 'text', text: 'good' }, { kind: 'text', text: 'fine, quoted' }]);
    expect(lines(r)).toEqual([2, 5]);
    const got = problems(r);
    expect(got[0]).toEqual([3, 'has 3 fields but the header has 2']);
    expect(got[1]).toEqual([4, 'has 1 fields but the header has 2']);
    expect(got[2]![0]).toBe(6);
    expect(got[2]![1]).toMatch(/never closed/);
    // the line after the broken quote is read as a row of its own, not swallowed by the quote
    expect(got[3]).toEqual([7, 'has 1 fields but the header has 2']);
    expect(got).toHaveLength(4);
  });

  it('CSV: empty text cells and a missing column', () => {
    const r = parseDataset('d.csv', 'text,id\n,1\nhello,2\n');
    expect(problems(r)).toEqual([[2, '"text" is empty']]);
    // a CSV with prompt, completion and text columns: rows use whichever is filled
    const mixed = parseDataset('d.csv', 'prompt,completion,text\n,,just text\nq,a,\nq,,\n,,\n');
    expect(recs(mixed)).toEqual([{ kind: 'text', text: 'just text' }, { kind: 'prompt', prompt: 'q', completion: 'a' }]);
    expect(problems(mixed)).toEqual([
      [4, '"completion" is empty'],
      [5, '"prompt" and "completion" and "text" are empty'],
    ]);
    const m = parseDataset('d.csv', 'body,id\nx,1\n');
    expect(problems(m)[0]![1]).toMatch(/no known fields: .* \(found "body", "id"\)/);
  });
});

describe('speed', () => {
  it('imports 100k short records from JSONL and CSV (the time is printed, not asserted)', () => {
    const n = 100_000;
    const rows = Array.from({ length: n }, (_, i) => ({ prompt: `Question ${i}: what is ${i} + ${i}?`, completion: `It is ${2 * i}.`, category: i % 7 === 0 ? 'seven' : 'other' }));
    const jl = rows.map((r) => JSON.stringify(r)).join('\n');
    const csv = 'prompt,completion,category\n' + rows.map((r) => `"${r.prompt}","${r.completion}",${r.category}`).join('\n');
    for (const [name, text] of [
      ['big.jsonl', jl],
      ['big.csv', csv],
    ] as const) {
      const t0 = performance.now();
      const r = parseDataset(name, text);
      const ms = performance.now() - t0;
      expect(r.records).toHaveLength(n);
      expect(r.problems).toHaveLength(0);
      expect(r.records[n - 1]!.source.line).toBe(name.endsWith('.csv') ? n + 1 : n);
      console.log(`${name}: ${n} records in ${ms.toFixed(0)} ms = ${Math.round((n / ms) * 1000)} records/s`);
    }
  });
});

describe('inputs are read without silent loss', () => {
  it('CSV and TSV: after an unclosed or malformed quote, every later row is imported or reported with its line', () => {
    const csv = 'prompt,completion\nq1,a1\n"q2 never closed,a2\nq3,a3\nq4,"a4, fine"\n';
    const r = parseDataset('u.csv', csv);
    expect(recs(r)).toEqual([
      { kind: 'prompt', prompt: 'q1', completion: 'a1' },
      { kind: 'prompt', prompt: 'q3', completion: 'a3' },
      { kind: 'prompt', prompt: 'q4', completion: 'a4, fine' },
    ]);
    expect(lines(r)).toEqual([2, 4, 5]);
    expect(problems(r)).toEqual([[3, expect.stringMatching(/^(Quoted field unterminated|Trailing quote on quoted field is malformed) \(.*; the next lines are read as rows of their own\)$/)]]);
    const tsv = 'text\ttag\nok\ta\n"bad"x\tb\nafter\tc\n"open\td\nlast\te\n';
    const t = parseDataset('u.tsv', tsv);
    expect(recs(t)).toEqual([{ kind: 'text', text: 'ok' }, { kind: 'text', text: 'after' }, { kind: 'text', text: 'last' }]);
    expect(problems(t).map(([l]) => l)).toEqual([3, 5]);
    // every non-header line is accounted for
    expect([...lines(t), ...problems(t).map(([l]) => l)].sort()).toEqual([2, 3, 4, 5, 6]);
  });

  it('JSONL bytes: an invalid UTF-8 line is reported with its number; the lines around it import', () => {
    const enc = new TextEncoder();
    const bytes = new Uint8Array([
      ...enc.encode('\uFEFF{"text":"first"}\n{"text":"bad '), 0xc3, 0x28, ...enc.encode('"}\r\n{"text":"überall"}\n'),
      ...enc.encode('{"text":"cut '), 0xe2, 0x82, ...enc.encode('"}\n{"text":"last"}'),
    ]);
    const r = parseDataset('u.jsonl', bytes);
    expect(recs(r)).toEqual([{ kind: 'text', text: 'first' }, { kind: 'text', text: 'überall' }, { kind: 'text', text: 'last' }]);
    expect(lines(r)).toEqual([1, 3, 5]);
    expect(problems(r)).toEqual([
      [2, 'is not UTF-8 text (byte 14 of the line); the other lines are read'],
      [4, 'is not UTF-8 text (byte 14 of the line); the other lines are read'],
    ]);
  });

  it('conversations with unknown roles or odd order are left out with line and reason, under one rule', () => {
    const u = (c: string) => ({ role: 'user', content: c });
    const a = (c: string) => ({ role: 'assistant', content: c });
    const text = jsonl(
      { messages: [{ role: 'system', content: 's' }, u('q'), a('ok'), { role: 'tool', content: '{}' }, a('done')] },
      { messages: [u('q'), { role: 'wizard', content: 'abracadabra' }, a('x')] },
      { messages: [a('I start'), u('then you'), a('and me')] },
      { messages: [u('q'), a('x'), u('unanswered')] },
      { messages: [{ role: 'system', content: 's' }, u('q')] },
      { conversations: [{ from: 'gpt', value: 'first' }, { from: 'human', value: 'last' }] },
      { prompt: [a('p')], completion: [a('c')] },
    );
    const r = parseDataset('c.jsonl', text);
    expect(lines(r)).toEqual([1]);
    expect(problems(r)).toEqual([
      [2, '"messages"[1].role is "wizard"; expected system, user, assistant, tool'],
      [3, '"messages"[0] opens the conversation as assistant; the user must speak first (after any system turns)'],
      [4, 'ends with a user turn ("messages"[2]); the last turn must be the assistant\'s'],
      [5, 'has no assistant turn, so nothing to learn from'],
      [6, '"conversations"[0] opens the conversation as assistant; the user must speak first (after any system turns)'],
      [7, '"prompt"+"completion"[0] opens the conversation as assistant; the user must speak first (after any system turns)'],
    ]);
    // data prepare reads them as they are: its chat repair reports and fixes or removes them
    expect(parseDataset('c.jsonl', text, { chatRules: false }).records).toHaveLength(7);
  });

  it('recognises question/answer, input/output, instruction/response and prompt/response without a mapping', () => {
    const qa = parseDataset('qa.csv', 'Question,Answer,topic\nWhat is 2+2?,4,math\n');
    expect(recs(qa)).toEqual([{ kind: 'prompt', prompt: 'What is 2+2?', completion: '4' }]);
    expect(qa.records[0]!.fields).toEqual({ topic: 'math' });
    expect(qa.recognised).toEqual({ mapping: { prompt: 'Question', completion: 'Answer' }, description: 'prompt=Question, completion=Answer' });
    const io = parseDataset('io.jsonl', jsonl({ input: 'hello', output: 'bonjour' }));
    expect(recs(io)).toEqual([{ kind: 'prompt', prompt: 'hello', completion: 'bonjour' }]);
    const ir = parseDataset('ir.jsonl', jsonl({ instruction: 'Translate', context: 'good night', response: 'bonne nuit' }));
    expect(recs(ir)).toEqual([{ kind: 'prompt', prompt: alpacaPrompt('Translate', 'good night'), completion: 'bonne nuit' }]);
    const pr = parseDataset('pr.tsv', 'prompt\tresponse\nName a colour\tBlue\n');
    expect(recs(pr)).toEqual([{ kind: 'prompt', prompt: 'Name a colour', completion: 'Blue' }]);
    // known names need no recognition; a mapping given by the user wins
    expect(parseDataset('p.jsonl', jsonl({ prompt: 'a', completion: 'b', answer: 'c' })).recognised).toBeNull();
    const mapped = parseDataset('qa.csv', 'question,answer,alt\nq,a,b\n', { columns: { prompt: 'question', completion: 'alt' } });
    expect([mapped.recognised, recs(mapped)]).toEqual([null, [{ kind: 'prompt', prompt: 'q', completion: 'b' }]]);
  });

  it('parseColumnMapping reads FIELD=COLUMN pairs and names what is wrong', () => {
    expect(parseColumnMapping(['prompt=question', 'completion=answer'])).toEqual({ ok: true, value: { prompt: 'question', completion: 'answer' } });
    expect(parseColumnMapping(['prompt=my col=x'])).toEqual({ ok: true, value: { prompt: 'my col=x' } });
    expect(parseColumnMapping(['question'])).toEqual({ ok: false, reason: '"question" is not FIELD=COLUMN (e.g. prompt=question)' });
    expect(parseColumnMapping(['answer=a'])).toMatchObject({ ok: false, reason: expect.stringMatching(/^"answer" is not a known field; expected one of text, prompt/) });
    expect(parseColumnMapping(['prompt=a', 'prompt=b'])).toEqual({ ok: false, reason: '"prompt" is mapped twice' });
  });

  it('importDataset: a file with no usable record is an InputError naming the file and the first problem', () => {
    expect(() => importDataset('none.csv', 'foo,bar\n1,2\n3,4\n')).toThrow(
      /^none\.csv: no usable records: all 2 were left out \(the first: line 2: no known fields: .*\(found "foo", "bar"\)/,
    );
    expect(() => importDataset('empty.jsonl', '\n\n')).toThrow(/^empty\.jsonl: has no records; nothing to import$/);
    expect(() => importDataset('empty.txt', ' \n')).toThrow(/^empty\.txt: has no text; nothing to import$/);
    expect(importDataset('one.jsonl', jsonl({ text: 'a' })).records).toHaveLength(1);
  });

  it('a record over the size limit is left out with its size, in every file type; the others import', () => {
    const big = 'x'.repeat(2000);
    const limit = { maxRecordChars: 1000 };
    const reason = (size: string) => `is too large for one record: ${size} (the limit is 1,000 characters; split it into smaller records)`;
    const jl = jsonl({ text: 'small' }, { text: big }, { text: 'also small' });
    expect(problems(parseDataset('b.jsonl', jl, limit))).toEqual([[2, reason('2,011 characters')]]);
    expect(problems(parseDataset('b.jsonl', new TextEncoder().encode(`{"text":"small"}\n{"text":"${'y'.repeat(4000)}"}\n`), limit))).toEqual([
      [2, reason('4,011 bytes')],
    ]);
    const csv = parseDataset('b.csv', `text,n\nsmall,1\n${big},2\n`, limit);
    expect([recs(csv), problems(csv)]).toEqual([[{ kind: 'text', text: 'small' }], [[3, reason('over 1,000 characters')]]]);
    expect(problems(parseDataset('b.json', JSON.stringify([{ text: 'a' }, { text: big }]), limit))).toEqual([[1, reason('over 1,000 characters')]]);
    expect(problems(parseDataset('b.txt', `short\n${big}\n`, limit))).toEqual([[2, reason('2,000 characters')]]);
  });
});
