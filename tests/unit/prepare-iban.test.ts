import { describe, expect, it } from 'vitest';
import { findIbans, ibanChecksumOk, isIban } from '../../src/core/data/prepare/iban.ts';
import { findPersonalData, maskPersonalData } from '../../src/core/data/prepare/pii.ts';

/** Published example IBANs (checked with Python's arbitrary-precision mod 97), as people write them. */
const VALID: [string, string][] = [
  ['Bitte überweisen Sie auf DE89 3704 0044 0532 0130 00, danke.', 'DE89 3704 0044 0532 0130 00'],
  ['Pay to GB82WEST12345698765432 by Friday', 'GB82WEST12345698765432'],
  ['Virement : FR14 2004 1010 0505 0001 3M02 606.', 'FR14 2004 1010 0505 0001 3M02 606'],
  ['Rekening NL91 ABNA 0417 1643 00 (ABN AMRO)', 'NL91 ABNA 0417 1643 00'],
  ['Compte BE68-5390-0754-7034 en euros', 'BE68-5390-0754-7034'],
  ['Konto CH93 0076 2011 6238 5295 7', 'CH93 0076 2011 6238 5295 7'],
  ['Kontonummer NO93 8601 1117 947!', 'NO93 8601 1117 947'],
  ['IBAN: ES91 2100 0418 4502 0005 1332', 'ES91 2100 0418 4502 0005 1332'],
  ['Conto IT60 X054 2811 1010 0000 0123 456 intestato a Rossi', 'IT60 X054 2811 1010 0000 0123 456'],
  ['Numer konta: PL61 1090 1014 0000 0712 1981 2874.', 'PL61 1090 1014 0000 0712 1981 2874'],
];

/** Look-alikes: one wrong digit, swapped digits, wrong length, unknown country, run-on text, codes. */
const INVALID = [
  'Bitte überweisen Sie auf DE89 3704 0044 0532 0130 01, danke.',
  'Pay to GB82 WEST 1234 5698 7654 23 by Friday',
  'Konto DE89 3704 0044 0532 0130 0 (one digit short)',
  'Konto DE89 3704 0044 0532 0130 000 (one digit long)',
  'Order XX89 3704 0044 0532 0130 00 shipped',
  'Serial DE89370400440532013000X7 on the label',
  'Reference AB12 3456 7890 1234 56 in the subject line',
  'Part number NO12 3456 7890 1 and flight LH1234',
  'Tracking code FR00 2004 1010 0505 0001 3M02 606 is not an account',
];

describe('IBAN detection', () => {
  it('the mod-97 check and the country lengths', () => {
    expect(ibanChecksumOk('DE89370400440532013000')).toBe(true);
    expect(ibanChecksumOk('DE89370400440532013001')).toBe(false);
    expect(isIban('GB82WEST12345698765432')).toBe(true);
    // a valid checksum with the wrong length for its country is not an IBAN
    expect(isIban('DE8937040044053201300')).toBe(false);
    expect(isIban('de89370400440532013000')).toBe(false);
  });

  it('finds valid IBANs, plain, grouped by spaces or hyphens, in several languages', () => {
    for (const [text, iban] of VALID) {
      const found = findPersonalData(text);
      expect(found.map((m) => [m.kind, m.text]), text).toEqual([['iban', iban]]);
    }
  });

  it('does not match look-alikes', () => {
    for (const text of INVALID) expect(findIbans(text), text).toEqual([]);
    for (const text of INVALID) expect(findPersonalData(text).filter((m) => m.kind === 'iban'), text).toEqual([]);
  });

  it('masks an IBAN as one placeholder, not as a phone or card number', () => {
    const r = maskPersonalData('Send it to DE89 3704 0044 0532 0130 00 or call +49 30 12345678.');
    expect(r.text).toBe('Send it to [IBAN] or call [PHONE].');
    expect(r.matches.map((m) => m.kind)).toEqual(['iban', 'phone']);
  });
});
