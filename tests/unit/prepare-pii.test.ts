import { describe, expect, it } from 'vitest';
import { Blocklist } from '../../src/core/data/prepare/blocklist.ts';
import { findPersonalData, luhn, maskPersonalData, type PiiKind } from '../../src/core/data/prepare/pii.ts';

/** Planted personal data in several languages and national formats: [text, kind, exact match]. */
const PLANTED: [string, PiiKind, string][] = [
  ['Schreib mir an anna.schmidt@beispiel.de, danke!', 'email', 'anna.schmidt@beispiel.de'],
  ['Écrivez à service.client@exemple.fr pour un remboursement.', 'email', 'service.client@exemple.fr'],
  ['Пишите на ivan.petrov@example.ru 😊', 'email', 'ivan.petrov@example.ru'],
  ['请发邮件到 wang.lei@example.cn 谢谢', 'email', 'wang.lei@example.cn'],
  ['Email: a.b-c@sub.example.co.uk', 'email', 'a.b-c@sub.example.co.uk'],
  ['Ring me on +44 20 7946 0958 tomorrow', 'phone', '+44 20 7946 0958'],
  ['Ruf an: +49 30 12345678', 'phone', '+49 30 12345678'],
  ['Tel. 030 12345678 (Büro)', 'phone', '030 12345678'],
  ['Handy 0171 1234567', 'phone', '0171 1234567'],
  ['Appelle-moi au +33 6 12 34 56 78 !', 'phone', '+33 6 12 34 56 78'],
  ['Mon numéro : 06 12 34 56 78.', 'phone', '06 12 34 56 78'],
  ['Call 555-123-4567 after six', 'phone', '555-123-4567'],
  ['Office (212) 555-0187', 'phone', '(212) 555-0187'],
  ['Llámame al 612 34 56 78', 'phone', '612 34 56 78'],
  ['هاتفي +971 50 123 4567 شكرا', 'phone', '+971 50 123 4567'],
  ['Visa 4111 1111 1111 1111 exp 12/27', 'card', '4111 1111 1111 1111'],
  ['Discover: 6011-1111-1111-1117', 'card', '6011-1111-1111-1117'],
  ['Amex 3782 822463 10005 on file', 'card', '3782 822463 10005'],
  ['The server 203.0.113.45 refused the connection', 'ip', '203.0.113.45'],
  ['Gateway fe80::1ff:fe23:4567:890a is local', 'ip', 'fe80::1ff:fe23:4567:890a'],
  ['Full 2001:0db8:85a3:0000:0000:8a2e:0370:7334 ok', 'ip', '2001:0db8:85a3:0000:0000:8a2e:0370:7334'],
  ['Use https://api.example.com/v2/items?limit=5&api_key=9f8e7d6c5b4a to test', 'url-secret', 'https://api.example.com/v2/items?limit=5&api_key=9f8e7d6c5b4a'],
  ['Fetch https://cdn.example.net/f.zip?X-Amz-Signature=abcdef123456&sig=zzzz9999', 'url-secret', 'https://cdn.example.net/f.zip?X-Amz-Signature=abcdef123456&sig=zzzz9999'],
  ['Clone https://bob:s3cretpass@git.example.org/repo.git', 'url-secret', 'https://bob:s3cretpass@git.example.org/repo.git'],
  ['Mirror ftp://user:pw1234@files.example.com/pub', 'url-secret', 'ftp://user:pw1234@files.example.com/pub'],
];

/** Texts that must not be flagged: dates, times, versions, prices, ISBNs, ids, code. */
const NEGATIVES = [
  'The meeting is on 2024-01-15 at 10:30, or 15.01.2024, or 01/15/2024.',
  'Released version 1.2.3, then v10.4.2 and 2.10.11 last week.',
  'Build 2024.01.15.1234 passed all checks.',
  'It costs $1,299.99, or 1 299,99 € TTC, or ¥150,000.',
  'ISBN 978-3-16-148410-1 is printed on the back.',
  'ISBN 978-0-306-40615-7 and ISBN 0-306-40615-2 are the same book.',
  'Order number 1234567890123 ships tomorrow.',
  'The year range 1999-2004 and pages 123-145.',
  'Read https://example.com/docs?page=2&lang=en for more.',
  'Population: 67,390,000 (2021 estimate) and 1 234 567 visitors.',
  'A ratio of 3:2:1 and 16:9, time 14:05:33; see section 4.5.6.',
  'In C++ write std::vector<int> v; a::b is a scope.',
  'MAC 00:1B:44:11:3A:B7 and UUID 123e4567-e89b-12d3-a456-426614174000.',
  'Coordinates 48.8566, 2.3522 mark Paris.',
  'Call me maybe 😀 — no numbers here. 电话号码不在这里。',
  'Timestamp 1700000000 and flight LH 1234 at 10:45.',
];

describe('personal data (extended planted set)', () => {
  it('recall and precision on planted examples and negatives', () => {
    let tp = 0;
    let fp = 0;
    const missed: string[] = [];
    const wrong: string[] = [];
    for (const [text, kind, match] of PLANTED) {
      const found = findPersonalData(text);
      const hit = found.find((f) => f.kind === kind && f.text === match);
      if (hit) tp++;
      else missed.push(`${kind}: ${text}`);
      for (const f of found) if (f !== hit) wrong.push(`${f.kind} "${f.text}" in ${text}`);
    }
    for (const text of NEGATIVES) for (const f of findPersonalData(text)) wrong.push(`${f.kind} "${f.text}" in ${text}`);
    fp = wrong.length;
    const recall = tp / PLANTED.length;
    const precision = tp / (tp + fp);
    console.log(`personal data (extended): recall ${recall.toFixed(3)}, precision ${precision.toFixed(3)} (${PLANTED.length} planted, ${NEGATIVES.length} negative texts)`);
    if (missed.length) console.log(`missed: ${missed.join(' | ')}`);
    if (wrong.length) console.log(`false positives: ${wrong.join(' | ')}`);
    expect(recall).toBeGreaterThanOrEqual(0.95);
    expect(precision).toBeGreaterThanOrEqual(0.95);
  });

  it('Luhn separates card numbers from lookalikes', () => {
    for (const n of ['4111111111111111', '5500000000000004', '378282246310005', '6011111111111117']) expect(luhn(n)).toBe(true);
    for (const n of ['4111111111111112', '9783161484101', '1234567890123']) expect(luhn(n)).toBe(false);
    expect(findPersonalData('card 4111 1111 1111 1112')).toEqual([]);
  });

  it('masks with placeholders and leaves the rest of the text (any script, emoji) intact', () => {
    const { text, matches } = maskPersonalData('Привет! Пишите на ivan@example.ru или звоните +7 495 123-45-67 📞, IP 10.0.0.1.');
    expect(text).toBe('Привет! Пишите на [EMAIL] или звоните [PHONE] 📞, IP [IP].');
    expect(matches.map((m) => m.kind)).toEqual(['email', 'phone', 'ip']);
    expect(maskPersonalData('東京の田中さん: tanaka@example.jp').text).toBe('東京の田中さん: [EMAIL]');
  });

  it('only looks for the kinds asked for', () => {
    const t = 'mail a@b.io, card 4111 1111 1111 1111, ip 192.168.0.1';
    expect(findPersonalData(t, ['card']).map((m) => m.kind)).toEqual(['card']);
    expect(findPersonalData(t, ['email', 'ip']).map((m) => m.kind)).toEqual(['email', 'ip']);
  });
});

describe('blocklist (scripts and phrases)', () => {
  const b = Blocklist.parse(['# one term or phrase per line', 'Dummkopf', 'sale race', 'imbécile', 'غبي', '笨蛋', 'バカ', ''].join('\n'));

  it('matches whole words case-insensitively in Latin, Arabic and accented text', () => {
    expect(b.size).toBe(6);
    expect(b.find('Du bist ein DUMMKOPF!').map((m) => m.term)).toEqual(['Dummkopf']);
    expect(b.find('Dummköpfe und Dummkopfs')).toEqual([]);
    expect(b.find('Quel IMBÉCILE.').map((m) => m.term)).toEqual(['imbécile']);
    expect(b.find('أنت غبي جدا').map((m) => m.term)).toEqual(['غبي']);
    expect(b.find('SALE\n  RACE').map((m) => [m.term, m.start, m.end])).toEqual([['sale race', 0, 11]]);
    expect(b.find('salé racé, sale racer')).toEqual([]);
  });

  it('matches terms in scripts without spaces anywhere in the text', () => {
    expect(b.find('你真是个笨蛋啊').map((m) => m.term)).toEqual(['笨蛋']);
    expect(b.find('あいつはバカだ').map((m) => m.term)).toEqual(['バカ']);
  });
});
