import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, jsonLines, tabtune } from './cli-harness.ts';

/**
 * `tabtune data preview|stats|prepare` on TRL preference files (explicit prompt, conversational,
 * implicit prompt) and KTO files, with the demo model's tokenizer and chat template.
 */

const lines = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

function file(name: string, rows: readonly (object | string)[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tabtune-prefdata-')), name);
  writeFileSync(path, rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
  return path;
}

const user = (content: string) => ({ role: 'user', content });
const assistant = (content: string) => ({ role: 'assistant', content });

/** Conversational pairs with an explicit prompt; line 3 repeats line 1, line 4 has chosen == rejected, line 5 is broken. */
const conversational = file('pairs.jsonl', [
  { prompt: [user('Mali is in Africa.\nWhich region is Mali in?')], chosen: [assistant('Africa')], rejected: [assistant('Europe')], id: 'a' },
  { prompt: [user('Peru is in South America. Mail ann@example.com')], chosen: [assistant('South America')], rejected: [assistant('Asia')], id: 'b' },
  { prompt: [user('Mali is in Africa.\nWhich region is Mali in?')], chosen: [assistant('Africa')], rejected: [assistant('Europe')], id: 'c' },
  { prompt: [user('Chad?')], chosen: [assistant('Africa')], rejected: [assistant('Africa')] },
  '{"prompt": "broken',
  { prompt: [user('Fiji?')], chosen: [assistant('Oceania')], rejected: [assistant('Europe')], note: 'call +1 415 555 0100' },
]);

beforeAll(buildCli);

describe('tabtune data preview', () => {
  it('shows chosen and rejected side by side with exactly the answer and its end of turn trained', () => {
    const r = tabtune('data', 'preview', '--data', conversational, '--limit', '2', '--json');
    expect(r.code, r.stderr).toBe(0);
    const [first, second] = jsonLines(r.stdout);
    expect(first.line).toBe(1);
    const trained = (side: { side: { segments: { text: string; trained: boolean }[] } }) => side.side.segments.filter((s) => s.trained).map((s) => s.text);
    expect(trained(first.chosen)).toEqual(['Africa<|im_end|>']);
    expect(trained(first.rejected)).toEqual(['Europe<|im_end|>']);
    expect(first.chosen.side.segments[0]).toMatchObject({ trained: false });
    expect(first.chosen.side.segments[0].text).toContain('Which region is Mali in?');
    expect(second.line).toBe(2);
    expect(trained(second.chosen)).toEqual(['South America<|im_end|>']);
    // Bad rows are named with their line and reason.
    expect(r.stderr).toMatch(/pairs\.jsonl:4: chosen and rejected are identical \(left out\)/);
    expect(r.stderr).toMatch(/pairs\.jsonl:5: .*\(left out\)/);

    const text = tabtune('data', 'preview', '--data', conversational, '--limit', '1', '--width', '60');
    expect(text.code, text.stderr).toBe(0);
    const row = text.stdout.split('\n').find((l) => l.includes('⟦Africa'));
    expect(row).toMatch(/^⟦Africa<\|im_end\|>⟧ +│ ⟦Europe<\|im_end\|>⟧$/);
    expect(text.stdout).toContain('chosen (');
    expect(text.stdout).toContain('prompt:');
  });

  it('reads the implicit-prompt form, plain-text pairs and KTO examples', () => {
    const implicit = file('implicit.jsonl', [
      { chosen: [user('Name a colour.'), assistant('Blue')], rejected: [user('Name a colour.'), assistant('Seven')] },
    ]);
    const r = tabtune('data', 'preview', '--data', implicit, '--json');
    expect(r.code, r.stderr).toBe(0);
    const [p] = jsonLines(r.stdout);
    expect(p.chosen.side.segments.filter((s: { trained: boolean }) => s.trained).map((s: { text: string }) => s.text)).toEqual(['Blue<|im_end|>']);
    expect(p.chosen.side.segments[0].text).toContain('Name a colour.');

    const kto = file('kto.jsonl', [{ prompt: 'Two plus two is', completion: ' four', label: true }, { prompt: 'Two plus two is', completion: ' five', label: false }]);
    const k = tabtune('data', 'preview', '--data', kto, '--json');
    expect(k.code, k.stderr).toBe(0);
    const [good, bad] = jsonLines(k.stdout);
    expect([good.label, bad.label]).toEqual([true, false]);
    expect(good.completion.side.trainedTokens).toBeGreaterThan(0);
    expect(good.completion.side.segments.filter((s: { trained: boolean }) => s.trained).map((s: { text: string }) => s.text).join('')).toContain('four');
    const kt = tabtune('data', 'preview', '--data', kto);
    expect(kt.stdout).toContain('label false (undesirable)');
  });

  it('refuses a file with no preference records, naming it', () => {
    const sft = file('sft.jsonl', [{ prompt: 'a', completion: 'b' }]);
    const r = tabtune('data', 'preview', '--data', sft);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toContain(`tabtune: ${sft}: no usable preference records`);
    expect(r.stderr).toMatch(/sft\.jsonl:1: "label" must be true or false/);
  });
});

describe('tabtune data stats on preference files', () => {
  it('counts pairs, lengths per side, identical answers, duplicates and personal data in any field', () => {
    const r = tabtune('data', 'stats', '--data', conversational, '--json');
    expect(r.code, r.stderr).toBe(0);
    const [s] = jsonLines(r.stdout);
    expect(s).toMatchObject({ format: 'preference', pairs: 4, problems: 2, identical: 1, duplicates: 1 });
    expect(s.lengths.chosen).toMatchObject({ min: 6, max: 13 });
    expect(s.lengths.rejected).toMatchObject({ min: 4, max: 6 });
    expect(s.personal).toMatchObject({ email: 1, phone: 1 });
    expect(r.stderr).toMatch(/pairs\.jsonl:4: chosen and rejected are identical/);

    const text = tabtune('data', 'stats', '--data', conversational);
    expect(text.stdout).toContain('4 preference pairs; 2 rows left out, 1 of them with chosen identical to rejected');
    expect(text.stdout).toMatch(/chosen length \(characters\): mean [\d.]+, median [\d.]+, min 6, max 13/);
  });

  it('counts desirable and undesirable KTO examples', () => {
    const kto = file('kto.jsonl', [
      { prompt: 'a', completion: 'yes', label: true }, { prompt: 'b', completion: 'no', label: false }, { prompt: 'c', completion: 'ok', label: true },
    ]);
    const [s] = jsonLines(tabtune('data', 'stats', '--data', kto, '--json').stdout);
    expect(s).toMatchObject({ format: 'unpaired-preference', desirable: 2, undesirable: 1, pairs: 0 });
  });
});

describe('tabtune data prepare on preference files', () => {
  it('removes duplicate pairs, masks personal data in every field, and keeps the TRL format', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabtune-prefprep-'));
    const out = join(dir, 'clean.jsonl');
    const report = join(dir, 'report.json');
    const r = tabtune('data', 'prepare', '--data', conversational, '--out', out, '--report', report, '--json');
    expect(r.code, r.stderr).toBe(0);
    const [summary] = jsonLines(r.stdout);
    expect(summary).toMatchObject({ input: 6, output: 3, problems: 2, duplicates: 1, personal: { email: 1, phone: 1 } });
    const kept = lines(out);
    expect(kept.map((k) => k.id)).toEqual(['a', 'b', undefined]);
    expect(kept[1].prompt[0].content).toBe('Peru is in South America. Mail [EMAIL]');
    expect(kept[2].note).toBe('call [PHONE]');
    expect(kept[0]).toEqual({
      id: 'a', prompt: [user('Mali is in Africa.\nWhich region is Mali in?')], chosen: [assistant('Africa')], rejected: [assistant('Europe')],
    });
    const rep = JSON.parse(readFileSync(report, 'utf8'));
    expect(rep.duplicates).toEqual([{ line: 3, of: 1, kind: 'exact', similarity: 1 }]);
    expect(rep.personal).toEqual([{ line: 2, field: 'prompt[0].content', kind: 'email' }, { line: 6, field: 'note', kind: 'phone' }]);
    expect(rep.problems.map((p: { line: number }) => p.line)).toEqual([4, 5]);

    // The prepared file reads back as clean preference data.
    const [again] = jsonLines(tabtune('data', 'stats', '--data', out, '--json').stdout);
    expect(again).toMatchObject({ pairs: 3, problems: 0, duplicates: 0, personal: {} });
  });

  it('an implicit prompt is written out; --pii flag keeps the text; SFT-only flags are usage errors', () => {
    const implicit = file('implicit.jsonl', [
      { chosen: [user('Write to bob@example.org'), assistant('Done')], rejected: [user('Write to bob@example.org'), assistant('No')] },
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'tabtune-prefprep-'));
    const out = join(dir, 'o.jsonl');
    expect(tabtune('data', 'prepare', '--data', implicit, '--out', out, '--pii', 'flag').code).toBe(0);
    expect(lines(out)).toEqual([{ prompt: [user('Write to bob@example.org')], chosen: [assistant('Done')], rejected: [assistant('No')] }]);

    const bad = tabtune('data', 'prepare', '--data', implicit, '--out', join(dir, 'b.jsonl'), '--balance-field', 'kind');
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('tabtune: --balance-field is not supported by data prepare on preference files');
    expect(existsSync(join(dir, 'b.jsonl'))).toBe(false);
  });
});
