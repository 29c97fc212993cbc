import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.ts';
import type { ChatMessage, DataRecord, DatasetRecord } from '../../src/core/data/records.ts';
import { DEFAULT_CHAT_REPAIR, repairChat } from '../../src/core/data/prepare/chat-repair.ts';
import { cleanRecords, DEFAULT_CLEAN, type CleanConfig } from '../../src/core/data/prepare/clean.ts';
import { guessLanguage } from '../../src/core/data/prepare/language.ts';
import { allowedShare, scriptProfile } from '../../src/core/data/prepare/script.ts';
import { runStepAsync, yieldToEventLoop } from '../../src/core/data/prepare/step.ts';
import { createCleanStep } from '../../src/core/data/prepare/clean.ts';
import { normaliseUnicode, removeControlChars, repairWhitespace, stripEnds } from '../../src/core/data/prepare/unicode.ts';

const rec = (record: DataRecord, line: number): DatasetRecord => ({ record, source: { file: 'rules.jsonl', line } });
const text = (t: string, line = 1) => rec({ kind: 'text', text: t }, line);
const chat = (messages: ChatMessage[], line = 1) => rec({ kind: 'chat', messages }, line);
const m = (role: string, content: string): ChatMessage => ({ role, content });
const only = (over: Partial<CleanConfig>): CleanConfig => ({
  normalize: false,
  controlChars: false,
  whitespace: false,
  chat: false,
  empty: false,
  scripts: false,
  languages: false,
  length: false,
  ...over,
});
const textOf = (r: DatasetRecord) => (r.record.kind === 'text' ? r.record.text : '');

describe('text repairs', () => {
  it('NFC composes accents; NFKC also folds compatibility forms', () => {
    expect(normaliseUnicode('e\u0301te\u0301', 'NFC')).toBe('été');
    expect(normaliseUnicode('ＡＢＣ ﬁ ①', 'NFC')).toBe('ＡＢＣ ﬁ ①');
    expect(normaliseUnicode('ＡＢＣ ﬁ ①', 'NFKC')).toBe('ABC fi 1');
    const r = cleanRecords([text('Gro\u0308\u00dfe', 3), text('Größe', 4)], only({ normalize: 'NFC' }));
    expect(r.records.map(textOf)).toEqual(['Größe', 'Größe']);
    const rule = r.report.rules[0]!;
    expect([rule.rule, rule.changed, rule.examples[0]!.source.line]).toEqual(['unicode-NFC', 1, 3]);
  });

  it('removes control characters but keeps tab and newline; line-breaking controls become newlines', () => {
    expect(removeControlChars('a\u0000b\u0007c\td\ne\u001b[0mf\u007f\u0085g\fh')).toBe('abc\td\ne[0mf\ng\nh');
    expect(removeControlChars('ok \ud83d\ude00 \ud83d lone')).toBe('ok 😀  lone');
  });

  it('repairs whitespace: newlines, zero-width, odd spaces, runs, trailing, blank lines', () => {
    expect(repairWhitespace('a\r\nb\rc\u2028d')).toBe('a\nb\nc\nd');
    expect(repairWhitespace('zero\u200bwidth\ufeff')).toBe('zerowidth');
    expect(repairWhitespace('un\u00a0deux\u3000三 \u202f!')).toBe('un deux 三 !');
    expect(repairWhitespace('a    b  \nc\t \n\n\n\n\nd')).toBe('a b\nc\n\nd');
    expect(repairWhitespace('def f():\n    return  1')).toBe('def f():\n    return 1');
    expect(repairWhitespace('    x', { keepIndentation: false, maxBlankLines: 1 })).toBe(' x');
    expect(repairWhitespace('a\n\n\n\nb', { keepIndentation: true, maxBlankLines: 0 })).toBe('a\nb');
  });

  it('keeps joiners that do work (emoji sequences, Persian ZWNJ) and drops stray ones', () => {
    const family = '👨\u200d👩\u200d👧';
    expect(repairWhitespace(`family ${family}!`)).toBe(`family ${family}!`);
    expect(repairWhitespace('می\u200cخواهم')).toBe('می\u200cخواهم');
    expect(repairWhitespace('stray \u200d joiner\u200c x')).toBe('stray joiner x');
    expect(repairWhitespace('👍🏽\u200d')).toBe('👍🏽');
  });

  it('strips ends, keeping one leading separator on completions', () => {
    expect(stripEnds('  hi  ', false)).toBe('hi');
    expect(stripEnds('   Paris  ', true)).toBe(' Paris');
    expect(stripEnds('\n\nanswer', true)).toBe('\nanswer');
    const r = cleanRecords([rec({ kind: 'prompt', prompt: ' Capital of France?  ', completion: '  Paris.  ' }, 1)]);
    expect(r.records[0]!.record).toEqual({ kind: 'prompt', prompt: 'Capital of France?', completion: ' Paris.' });
  });

  it('leaves token records alone and never mutates the input', () => {
    const input = [rec({ kind: 'tokens', inputIds: [1, 2, 3] }, 1), text('  Spaß\u200b  ', 2), chat([m('user', ' hi '), m('assistant', ' yo ')], 3)];
    const frozen = JSON.stringify(input);
    const r = cleanRecords(input);
    expect(r.records[0]).toBe(input[0]);
    expect(textOf(r.records[1]!)).toBe('Spaß');
    expect(r.records[2]!.record).toEqual({ kind: 'chat', messages: [m('user', 'hi'), m('assistant', 'yo')] });
    expect(JSON.stringify(input)).toBe(frozen);
    // An unchanged record is passed on as the same object.
    const clean = text('already clean', 4);
    expect(cleanRecords([clean]).records[0]).toBe(clean);
  });
});

describe('chat structure', () => {
  const fix = (ms: ChatMessage[], o = {}) => repairChat(ms, { ...DEFAULT_CHAT_REPAIR, ...o });

  it('merges or drops two turns of one role in a row', () => {
    const ms = [m('user', 'Bonjour'), m('user', 'Ça va ?'), m('assistant', 'Oui'), m('assistant', 'et toi ?')];
    expect(fix(ms).messages).toEqual([m('user', 'Bonjour\n\nÇa va ?'), m('assistant', 'Oui\n\net toi ?')]);
    expect(fix(ms).issues.map((i) => i.rule)).toEqual(['role-order']);
    expect(fix(ms, { roleOrder: 'drop' }).messages).toBeNull();
  });

  it('drops an opening assistant turn and trims (or drops) what follows the last assistant turn', () => {
    const ms = [m('system', 'Sei gentile.'), m('assistant', 'Ciao!'), m('user', 'Come stai?'), m('assistant', 'Bene.'), m('user', 'E poi?')];
    const r = fix(ms);
    expect(r.messages).toEqual([m('system', 'Sei gentile.'), m('user', 'Come stai?'), m('assistant', 'Bene.')]);
    expect(r.issues.map((i) => i.rule)).toEqual(['role-order', 'final-turn']);
    expect(fix(ms, { finalTurn: 'drop' }).messages).toBeNull();
    expect(fix(ms, { finalTurn: 'keep' }).messages!.at(-1)).toEqual(m('user', 'E poi?'));
  });

  it('an empty assistant turn takes its question with it; empty other turns are dropped', () => {
    const r = fix([m('user', 'Q1'), m('assistant', '  '), m('user', ''), m('user', 'Q2'), m('assistant', 'A2')]);
    expect(r.messages).toEqual([m('user', 'Q2'), m('assistant', 'A2')]);
    expect(fix([m('user', 'Q1'), m('assistant', '')], { emptyTurn: 'drop-record' }).messages).toBeNull();
    const none = fix([m('user', 'Q1'), m('assistant', '')]);
    expect(none.messages).toBeNull();
    expect(none.issues.at(-1)!.rule).toBe('no-assistant');
  });

  it('handles unknown roles, misplaced system turns and tool turns', () => {
    const odd = [m('user', 'hi'), m('narrator', 'Meanwhile…'), m('assistant', 'hello')];
    expect(fix(odd).messages).toBeNull();
    expect(fix(odd).issues[0]!.rule).toBe('unknown-role');
    expect(fix(odd, { unknownRole: 'drop-message' }).messages).toEqual([m('user', 'hi'), m('assistant', 'hello')]);
    expect(fix([m('user', 'a'), m('system', 'late'), m('assistant', 'b')]).messages).toEqual([m('user', 'a'), m('assistant', 'b')]);
    const tools = [m('user', 'weather?'), m('assistant', '{"call":"weather"}'), m('tool', '{"t":21}'), m('tool', '{"h":40}'), m('assistant', '21 °C')];
    expect(fix(tools)).toEqual({ messages: tools, issues: [] });
  });

  it('reports each chat rule with file and line in the cleaning step', () => {
    const r = cleanRecords([
      chat([m('user', 'a'), m('user', 'b'), m('assistant', 'c')], 10),
      chat([m('user', 'q'), m('assistant', 'ok'), m('user', 'dangling')], 11),
      chat([m('bot', 'x'), m('assistant', 'y')], 12),
      chat([m('user', 'q'), m('assistant', 'fine')], 13),
    ]);
    const by = Object.fromEntries(r.report.rules.map((x) => [x.rule, x]));
    expect([by['chat.role-order']!.changed, by['chat.role-order']!.examples[0]!.source.line]).toEqual([1, 10]);
    expect([by['chat.final-turn']!.changed, by['chat.final-turn']!.examples[0]!.source.line]).toEqual([1, 11]);
    expect([by['chat.unknown-role']!.removed, by['chat.unknown-role']!.examples[0]!.source.line]).toEqual([1, 12]);
    expect(r.records.map((x) => x.source.line)).toEqual([10, 11, 13]);
    expect(r.report).toMatchObject({ step: 'clean', before: 4, after: 3 });
  });
});

describe('scripts and languages', () => {
  it('finds the dominant script of text in many writing systems', () => {
    const cases: [string, string][] = [
      ['Le français a des accents: é, è, ç.', 'Latin'],
      ['Die Straße ist schön.', 'Latin'],
      ['Москва — столица России.', 'Cyrillic'],
      ['Η Αθήνα είναι η πρωτεύουσα.', 'Greek'],
      ['القاهرة هي عاصمة مصر.', 'Arabic'],
      ['ירושלים היא עיר עתיקה.', 'Hebrew'],
      ['北京是中国的首都。', 'Han'],
      ['ひらがなとカタカナ', 'Hiragana'],
      ['서울은 한국의 수도입니다.', 'Hangul'],
      ['नमस्ते, आप कैसे हैं?', 'Devanagari'],
      ['กรุงเทพมหานครเป็นเมืองหลวง', 'Thai'],
    ];
    for (const [t, s] of cases) expect(scriptProfile(t).dominant, t).toBe(s);
    const emoji = scriptProfile('🎉🎉 2024!!');
    expect([emoji.letters, emoji.dominant]).toEqual([0, null]);
    // Japanese mixes Han and kana: allow all three to keep it.
    const ja = scriptProfile('東京は日本の首都です');
    expect(ja.counts.Han! + ja.counts.Hiragana!).toBe(ja.letters);
    expect(allowedShare(ja, ['Han', 'Hiragana', 'Katakana'])).toBe(1);
  });

  it('filters records by allowed scripts with a minimum share; texts without letters pass', () => {
    const input = [text('Hello world', 1), text('Привет мир', 2), text('Hello Привет мир мир', 3), text('👍👍', 4), text('日本語のテキスト', 5)];
    const r = cleanRecords(input, only({ scripts: { allowed: ['Latin', 'Han', 'Hiragana', 'Katakana'], minShare: 0.5 } }));
    expect(r.records.map((x) => x.source.line)).toEqual([1, 4, 5]);
    const rule = r.report.rules.find((x) => x.rule === 'script')!;
    expect(rule.removed).toBe(2);
    expect(rule.examples[0]!.note).toMatch(/^mostly Cyrillic/);
  });

  it('guesses Latin-script languages from function words, and says unknown when unsure', () => {
    const cases: [string, string][] = [
      ['The committee has decided that the new rules will apply to all of the members.', 'en'],
      ['Le comité a décidé que les nouvelles règles seront appliquées à tous les membres.', 'fr'],
      ['Der Ausschuss hat beschlossen, dass die neuen Regeln für alle Mitglieder gelten.', 'de'],
      ['El comité ha decidido que las nuevas normas se aplicarán a todos los miembros.', 'es'],
      ['Il comitato ha deciso che le nuove regole si applicano a tutti i membri della società.', 'it'],
      ['O comitê decidiu que as novas regras serão aplicadas a todos os membros da empresa.', 'pt'],
      ['Het comité heeft besloten dat de nieuwe regels voor alle leden van de vereniging gelden.', 'nl'],
      ['Paris', 'unknown'],
      ['pizza pasta espresso', 'unknown'],
    ];
    for (const [t, lang] of cases) expect(guessLanguage(t).language, t).toBe(lang);
  });

  it('the language filter drops other languages, keeps unknown by default, and ignores non-Latin text', () => {
    const input = [
      text('This is a sentence in English and it is long enough to judge.', 1),
      text('Dies ist ein Satz auf Deutsch und er ist lang genug für eine Entscheidung.', 2),
      text('OK', 3),
      text('Это предложение на русском языке.', 4),
    ];
    const lang = { allowed: ['en' as const], keepUnknown: true, minHits: 2, margin: 1.5 };
    expect(cleanRecords(input, only({ languages: lang })).records.map((x) => x.source.line)).toEqual([1, 3, 4]);
    expect(cleanRecords(input, only({ languages: { ...lang, keepUnknown: false } })).records.map((x) => x.source.line)).toEqual([1, 4]);
  });
});

describe('empty and length filters', () => {
  it('removes records with nothing to train on, per kind', () => {
    const input = [
      text(' \u200b ', 1),
      rec({ kind: 'prompt', prompt: 'Q', completion: '' }, 2),
      chat([], 3),
      rec({ kind: 'tokens', inputIds: [] }, 4),
      rec({ kind: 'prompt', prompt: '', completion: 'only an answer' }, 5),
    ];
    const r = cleanRecords(input, { ...DEFAULT_CLEAN, chat: false });
    expect(r.records.map((x) => x.source.line)).toEqual([5]);
    expect(r.report.rules.find((x) => x.rule === 'empty')!.removed).toBe(4);
  });

  it('counts tokens with the given function, characters as code points, token records by their ids', () => {
    const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
    const input = [text('one two three', 1), text('one', 2), text('1 2 3 4 5 6', 3), rec({ kind: 'tokens', inputIds: [1, 2] }, 4), text('😀😀😀', 5)];
    const r = cleanRecords(input, only({ length: { minTokens: 2, maxTokens: 5 } }), { countTokens: words });
    expect(r.records.map((x) => x.source.line)).toEqual([1, 4]);
    expect(r.report.rules[0]!.examples.map((e) => e.note)).toEqual(['1 tokens < 2', '6 tokens > 5', '1 tokens < 2']);
    const chars = cleanRecords(input, only({ length: { minChars: 3, maxChars: 5 } }));
    // '😀😀😀' is 3 code points (6 UTF-16 units); token records have no characters to count.
    expect(chars.records.map((x) => x.source.line)).toEqual([2, 4, 5]);
  });

  it('asks for a tokenizer when token limits are set without one', () => {
    expect(() => cleanRecords([], only({ length: { maxTokens: 10 } }))).toThrow(InputError);
  });
});

describe('running in slices', () => {
  it('reports progress and yields every N records', async () => {
    const input = Array.from({ length: 10 }, (_, i) => text(`record ${i}`, i + 1));
    const progress: string[] = [];
    let yields = 0;
    const r = await runStepAsync(createCleanStep(DEFAULT_CLEAN), input, {
      yieldEvery: 3,
      yieldTo: async () => void yields++,
      onProgress: (s, d, t) => progress.push(`${s} ${d}/${t}`),
    });
    expect(r.records).toHaveLength(10);
    expect(yields).toBe(3);
    expect(progress).toEqual(['clean 0/10', 'clean 3/10', 'clean 6/10', 'clean 9/10', 'clean 10/10']);
  });

  it('the default yield lets queued macrotasks run', async () => {
    let ran = false;
    setTimeout(() => (ran = true), 0);
    // A resolved promise would not let the timer run; a few event-loop turns do.
    for (let i = 0; i < 20 && !ran; i++) await yieldToEventLoop();
    expect(ran).toBe(true);
  });
});
