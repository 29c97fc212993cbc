/**
 * The inputs part of the reliability work, through the built CLI: every row of a damaged file is
 * imported or reported with its line, nothing usable is one error line, huge records and hostile
 * chat templates stay within a small heap, and data prepare keeps the cleanest copy and masks IBANs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, jsonLines, LLAMA, runCli } from './cli-harness.ts';

const errLines = (s: string) => s.split('\n').filter((l) => l.startsWith('tabtune: '));

function file(name: string, content: string | Uint8Array): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tabtune-inputs-')), name);
  writeFileSync(path, content);
  return path;
}

beforeAll(buildCli);

describe('inputs are read without silent loss (CLI)', () => {
  it('CSV with an unclosed quote: the broken row is reported with its line, the rows after it import', () => {
    const csv = file('qa.csv', 'prompt,completion\nq1,a1\n"q2 never closed,a2\nq3,a3\nq4,a4\n');
    const r = runCli(['data', 'stats', '--data', csv, '--json']);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).at(-1).records).toBe(3);
    expect(errLines(r.stderr)).toEqual([expect.stringMatching(new RegExp(`^tabtune: ${csv}:3: .*the next lines are read as rows of their own\\) \\(left out\\)$`))]);
  });

  it('JSONL with an invalid UTF-8 line: that line is reported, the others are kept', () => {
    const bytes = Buffer.concat([Buffer.from('{"text":"one"}\n{"text":"bad '), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n{"text":"three"}\n')]);
    const r = runCli(['data', 'stats', '--data', file('d.jsonl', bytes), '--json']);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).at(-1).records).toBe(2);
    expect(errLines(r.stderr)).toEqual([expect.stringMatching(/d\.jsonl:2: is not UTF-8 text \(byte 14 of the line\); the other lines are read \(left out\)$/)]);
  });

  it('chat records with an unknown role or odd order are reported at import with line and reason', () => {
    const chat = file('chat.jsonl', [
      { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] },
      { messages: [{ role: 'wizard', content: 'abracadabra' }, { role: 'assistant', content: 'x' }] },
      { messages: [{ role: 'assistant', content: 'I start' }, { role: 'user', content: 'you end' }] },
    ].map((m) => JSON.stringify(m)).join('\n'));
    const r = runCli(['data', 'stats', '--data', chat, '--json']);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).at(-1).records).toBe(1);
    expect(errLines(r.stderr)).toEqual([
      expect.stringMatching(/chat\.jsonl:2: "messages"\[0\]\.role is "wizard"; expected system, user, assistant, tool \(left out\)$/),
      expect.stringMatching(/chat\.jsonl:3: "messages"\[0\] opens the conversation as assistant; the user must speak first/),
    ]);
  });

  it('question/answer columns are recognised; --columns maps others; nothing usable is one error line', () => {
    const qa = runCli(['data', 'stats', '--data', file('qa.csv', 'question,answer\nWhat is 2+2?,4\nCapital of France?,Paris\n'), '--json']);
    expect(qa.code).toBe(0);
    expect(jsonLines(qa.stdout)[0].columns_recognised).toEqual({ prompt: 'question', completion: 'answer' });
    expect(jsonLines(qa.stdout).at(-1).kinds).toEqual({ prompt: 2 });
    const odd = file('odd.csv', 'frage,antwort\nWie spät?,Acht\n');
    const none = runCli(['data', 'stats', '--data', odd]);
    expect(none.code).toBe(1);
    expect(errLines(none.stderr)).toEqual([expect.stringMatching(new RegExp(`^tabtune: ${odd}: no usable records: all 1 were left out \\(the first: line 2: no known fields`))]);
    const mapped = runCli(['data', 'stats', '--data', odd, '--columns', 'prompt=frage,completion=antwort', '--json']);
    expect([mapped.code, jsonLines(mapped.stdout).at(-1).kinds]).toEqual([0, { prompt: 1 }]);
    const bad = runCli(['data', 'stats', '--data', odd, '--columns', 'frage']);
    expect(errLines(bad.stderr)).toEqual(['tabtune: --columns: "frage" is not FIELD=COLUMN (e.g. prompt=question)']);
    expect(bad.code).not.toBe(0);
    for (const cmd of [['train'], ['eval'], ['data', 'prepare'], ['data', 'stats']]) expect(runCli([...cmd, '--help']).stdout).toContain('--columns FIELD=COLUMN');
  });

  it('data synth fills templates from a table\'s own columns; a table with no row is one error line', () => {
    const templates = file('t.json', JSON.stringify([{ questions: ['What is the capital of {country}?'], answer: 'The capital of {country} is {capital}.' }]));
    const out = join(mkdtempSync(join(tmpdir(), 'tabtune-synth-')), 'made.jsonl');
    const args = (rows: string) => ['data', 'synth', '--method', 'template', '--rows', rows, '--templates', templates, '--out', out, '--per-row', '1', '--json'];
    const r = runCli(args(file('t.csv', 'country,capital\nFrance,Paris\nJapan,Tokyo\n')));
    expect([r.code, jsonLines(r.stdout).at(-1).generated]).toEqual([0, 2]);
    expect(readFileSync(out, 'utf8')).toContain('The capital of Japan is Tokyo.');
    const empty = runCli(args(file('e.csv', 'country,capital\n')));
    expect([empty.code, errLines(empty.stderr)]).toEqual([1, [expect.stringMatching(/e\.csv: has no rows; nothing to import$/)]]);
  });

  it('a 50 MB single record is left out with its size, in a 192 MB heap', () => {
    const big = file('big.jsonl', `${JSON.stringify({ text: 'lorem ipsum dolor sit amet '.repeat(1_900_000) })}\n{"text":"small"}\n`);
    const r = runCli(['data', 'stats', '--data', big, '--json'], { heapMb: 192 });
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).at(-1).records).toBe(1);
    expect(errLines(r.stderr)).toEqual([expect.stringMatching(/big\.jsonl:1: is too large for one record: 51,300,011 bytes \(the limit is 1,000,000 characters; split it/)]);
  });

  it('a chat template that loops stops the run with one error line, in a 192 MB heap', () => {
    const model = mkdtempSync(join(tmpdir(), 'tabtune-model-'));
    cpSync(LLAMA, model, { recursive: true });
    writeFileSync(join(model, 'chat_template.jinja'), '{% for m in messages %}{{ m.content }}{% endfor %}{% for i in range(1000000000) %}x{% endfor %}');
    const chat = file('chat.jsonl', JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }));
    const r = runCli(['train', '--model', model, '--data', chat, '--out', join(mkdtempSync(join(tmpdir(), 'tabtune-out-')), 'run'), '--steps', '1'], { heapMb: 192 });
    expect(r.code).toBe(1);
    expect(errLines(r.stderr)).toEqual(['tabtune: chat template: range() of 1,000,000,000 items, over the limit of 100,000']);
  });
});

describe('data preparation keeps the best copy (CLI)', () => {
  it('near duplicates: the clean copy is written, the shouted one removed', () => {
    const rows = [
      'PLEASE SEND THE INVOICE for March to the accounting team before the end of the week!!!',
      'An unrelated record about the weather in the mountains during the long winter months.',
      'Please send the invoice for March to the accounting team before the end of the week.',
    ];
    const data = file('d.jsonl', rows.map((t) => JSON.stringify({ text: t })).join('\n'));
    const out = join(mkdtempSync(join(tmpdir(), 'tabtune-prep-')), 'out.jsonl');
    const r = runCli(['data', 'prepare', '--data', data, '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l).text)).toEqual([rows[2], rows[1]]);
  });

  it('IBANs are masked (valid ones only)', () => {
    const data = file('p.jsonl', [
      { prompt: 'Where do I pay?', completion: 'To DE89 3704 0044 0532 0130 00, please.' },
      { prompt: 'And the reference?', completion: 'Use DE89 3704 0044 0532 0130 01 as the order code.' },
    ].map((x) => JSON.stringify(x)).join('\n'));
    const out = join(mkdtempSync(join(tmpdir(), 'tabtune-prep-')), 'out.jsonl');
    const r = runCli(['data', 'prepare', '--data', data, '--out', out, '--pii', 'mask', '--json']);
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l).completion)).toEqual([
      'To [IBAN], please.',
      'Use DE89 3704 0044 0532 0130 01 as the order code.',
    ]);
  });
});
