/**
 * International bank account numbers (ISO 13616): a country code, two check digits and the
 * country's account number of a fixed length, printed plain or in groups of four. A match must
 * have its country's exact length and pass the mod-97 check, so look-alikes (order numbers,
 * reference codes, a wrong digit) do not match.
 */

/** IBAN length per country (SWIFT IBAN registry). */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28,
  CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23,
  GL: 18, GR: 27, GT: 28, HN: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28,
  LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28,
  NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31, SD: 18, SE: 24,
  SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

/** ISO 7064 MOD 97-10 as IBANs use it: the first four characters moved to the end, letters as 10-35, remainder 1. */
export function ibanChecksumOk(iban: string): boolean {
  const s = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    const v = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 90 ? c - 55 : -1;
    if (v < 0) return false;
    rem = (v > 9 ? rem * 100 + v : rem * 10 + v) % 97;
  }
  return rem === 1;
}

/** A valid IBAN written without separators. */
export function isIban(compact: string): boolean {
  return /^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(compact) && IBAN_LENGTHS[compact.slice(0, 2)] === compact.length && ibanChecksumOk(compact);
}

const START = /(?<![\p{L}\p{N}])[A-Z]{2}\d{2}/gu;
const ALNUM = /[A-Z0-9]/;

/** IBANs in a text, as [start, end) ranges: exactly the country's length, single spaces or hyphens between characters allowed. */
export function findIbans(text: string): [number, number][] {
  const out: [number, number][] = [];
  for (const m of text.matchAll(START)) {
    const length = IBAN_LENGTHS[m[0].slice(0, 2)];
    if (length === undefined) continue;
    let compact = m[0];
    let i = m.index! + 4;
    while (compact.length < length && i < text.length) {
      const sep = text[i] === ' ' || text[i] === '-';
      const ch = sep ? text[i + 1] : text[i];
      if (ch === undefined || !ALNUM.test(ch)) break;
      compact += ch;
      i += sep ? 2 : 1;
    }
    // the number must end there: no letter or digit runs on
    if (compact.length === length && !/[\p{L}\p{N}]/u.test(text[i] ?? '') && isIban(compact)) out.push([m.index!, i]);
  }
  return out;
}
