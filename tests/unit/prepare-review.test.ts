import { describe, expect, it } from 'vitest';
import { findPersonalData, luhn, maskPersonalData, type PiiKind } from '../../src/core/data/prepare/pii.ts';
import { Blocklist } from '../../src/core/data/prepare/blocklist.ts';
import { createReviewStep } from '../../src/core/data/prepare/review.ts';
import { runStep } from '../../src/core/data/prepare/step.ts';

const POSITIVES: [string, PiiKind, string][] = [
  ['Write to jane.doe@example.com today', 'email', 'jane.doe@example.com'],
  ['Contact: müller+news@firma-beispiel.de.', 'email', 'müller+news@firma-beispiel.de'],
  ['Call +1 415 555 0132 now', 'phone', '+1 415 555 0132'],
  ['Tel. (555) 123-4567', 'phone', '(555) 123-4567'],
  ['Appelez le 06 12 34 56 78 ce soir', 'phone', '06 12 34 56 78'],
  ['UK office 020 7946 0958.', 'phone', '020 7946 0958'],
  ['Mobile +4915123456789', 'phone', '+4915123456789'],
  ['Card 4111 1111 1111 1111 expires soon', 'card', '4111 1111 1111 1111'],
  ['Paid with 5500-0000-0000-0004', 'card', '5500-0000-0000-0004'],
  ['amex 378282246310005.', 'card', '378282246310005'],
  ['Server at 192.168.1.20 is down', 'ip', '192.168.1.20'],
  ['v6 addr 2001:db8::ff00:42:8329 here', 'ip', '2001:db8::ff00:42:8329'],
  ['Full 2001:0db8:85a3:0000:0000:8a2e:0370:7334 ok', 'ip', '2001:0db8:85a3:0000:0000:8a2e:0370:7334'],
  ['See https://api.example.com/v1/data?user=3&access_token=abcd1234efgh', 'url-secret', 'https://api.example.com/v1/data?user=3&access_token=abcd1234efgh'],
  ['Clone https://bob:s3cretpass@git.example.org/repo.git', 'url-secret', 'https://bob:s3cretpass@git.example.org/repo.git'],
  ['メールは taro@example.jp まで 📧', 'email', 'taro@example.jp'],
];
const NEGATIVES = [
  'The meeting is on 2024-01-15 at 10:30.',
  'Released version 1.2.3 and 2.10.11 last week.',
  'It costs $1,299.99 or €1.049,00 with tax.',
  'ISBN 978-3-16-148410-1 is on the back.',
  'Order number 1234567890123 ships tomorrow.',
  'Read https://example.com/docs?page=2&lang=en for more.',
  'Population: 67,390,000 (2021 estimate).',
  'A ratio of 3:2:1 works well; see section 4.5.6.',
  'Call me maybe 😀 — no numbers here.',
  'Date 15/01/2024 and time 14:05:33.',
];

describe('personal data', () => {
  it('finds planted personal data with high precision and recall, and masks it', () => {
    let tp = 0;
    let fp = 0;
    for (const [text, kind, match] of POSITIVES) {
      const found = findPersonalData(text);
      const hit = found.find((f) => f.kind === kind && f.text === match);
      if (hit) tp++;
      fp += found.length - (hit ? 1 : 0);
    }
    for (const text of NEGATIVES) fp += findPersonalData(text).length;
    const recall = tp / POSITIVES.length;
    const precision = tp / (tp + fp);
    console.log(`personal data: recall ${recall.toFixed(3)}, precision ${precision.toFixed(3)} (${POSITIVES.length} planted, ${NEGATIVES.length} negative texts)`);
    expect(recall).toBeGreaterThanOrEqual(0.9);
    expect(precision).toBeGreaterThanOrEqual(0.9);
    expect(maskPersonalData('mail jane@x.org or call +1 415 555 0132').text).toBe('mail [EMAIL] or call [PHONE]');
  });

  it('checks card numbers with Luhn', () => {
    expect(luhn('4111111111111111')).toBe(true);
    expect(luhn('4111111111111112')).toBe(false);
  });
});

describe('blocklist', () => {
  it('matches whole words and phrases, case-insensitively, in any script', () => {
    const b = Blocklist.parse('# comment\nbad word\nidiot\nдурак\n');
    expect(b.size).toBe(3);
    expect(b.find('What an IDIOT. Bad   Word!').map((m) => m.term)).toEqual(['idiot', 'bad word']);
    expect(b.find('idiotic badwords')).toEqual([]);
    expect(b.find('Он дурак.').map((m) => m.term)).toEqual(['дурак']);
  });
});

describe('the review step', () => {
  const records = [
    { record: { kind: 'chat' as const, messages: [{ role: 'user', content: 'my mail is ann@example.com' }, { role: 'assistant', content: 'noted' }] }, source: { file: 'd', line: 1 } },
    { record: { kind: 'text' as const, text: 'you idiot' }, source: { file: 'd', line: 2 } },
    { record: { kind: 'text' as const, text: 'fine text' }, source: { file: 'd', line: 3 } },
  ];
  it('masks personal data and removes blocklisted records, reporting each with its location', () => {
    const r = runStep(createReviewStep({ pii: { mode: 'mask', kinds: ['email'] }, blocklist: { terms: ['idiot'], action: 'remove' } }), records);
    expect(r.records.length).toBe(2);
    const first = r.records[0]!.record;
    expect(first.kind === 'chat' && first.messages[0]!.content).toBe('my mail is [EMAIL]');
    expect(r.flags.map((f) => [f.source.line, f.kind, f.location, f.action])).toEqual([[1, 'email', 'messages[0].content', 'masked'], [2, 'blocklist', 'text', 'removed']]);
    expect(r.flags[0]!.match).not.toContain('example.com');
  });
  it('flags without changing anything when asked', () => {
    const r = runStep(createReviewStep({ pii: { mode: 'flag', kinds: ['email'] }, blocklist: { terms: ['idiot'], action: 'flag' } }), records);
    expect(r.records).toEqual(records);
    expect(r.flags.length).toBe(2);
  });
});
