/**
 * Personal data in free text: emails, phone numbers, card-like numbers (Luhn-checked, so
 * ISBNs, order numbers and the like rarely match), IBANs (length- and mod-97-checked, iban.ts),
 * IPv4/IPv6 addresses, and URLs that carry
 * credentials or tokens. Detection is by pattern: precision and recall are measured on planted
 * examples in the tests, not promised for every format in the world.
 */
import { findIbans } from './iban.ts';

export type PiiKind = 'email' | 'phone' | 'card' | 'iban' | 'ip' | 'url-secret';
export const PII_KINDS: readonly PiiKind[] = ['url-secret', 'email', 'iban', 'card', 'ip', 'phone'];

export interface PiiMatch {
  readonly kind: PiiKind;
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export const PII_PLACEHOLDER: Readonly<Record<PiiKind, string>> = {
  email: '[EMAIL]', phone: '[PHONE]', card: '[CARD]', iban: '[IBAN]', ip: '[IP]', 'url-secret': '[URL]',
};

const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}/gu;
const URL_RE = /\b(?:https?|ftps?|sftp|wss?):\/\/[^\s<>"'()]+/giu;
const SECRET_NAMES = 'access_?token|id_?token|token|api_?key|apikey|key|secret|client_secret|password|passwd|pwd|auth|sig|signature|session(?:id)?|sid';
const SECRET_PARAM = new RegExp(`[?&#](?:${SECRET_NAMES})=[^&#\\s]{4,}`, 'i');
const USERINFO = /^[a-z]+:\/\/[^/@\s]+:[^/@\s]+@/i;
const CARD = /(?<![\d.-])(?:\d[ -]?){12,18}\d(?![\d-])/gu;
const IPV4 = /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\d|\.\d)/gu; // a sentence may end right after one
const IPV6_CANDIDATE = /(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])/giu;
/** Groups after the first may be long: German and other national numbers write 030 12345678. */
const PHONE = /(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]\d{1,8}){1,5}(?![\w-])|(?<![\w+])\+\d{8,14}(?!\w)/gu;

/** The Luhn checksum that payment card numbers satisfy. */
export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function validIpv6(s: string): boolean {
  // A real address has a digit somewhere; `a::b` or `dead::beef` is far more often code (C++, Rust).
  if (!/\d/.test(s)) return false;
  if ((s.match(/::/g) ?? []).length > 1) return false;
  const groups = s.split(':');
  if (s.includes('::')) {
    const hexGroups = groups.filter((g) => g !== '').every((g) => /^[0-9a-f]{1,4}$/i.test(g));
    return groups.length <= 8 && hexGroups && /[a-f]|::/i.test(s) && groups.filter(Boolean).length >= 2;
  }
  return groups.length === 8 && groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g));
}

/**
 * Book numbers look like hyphenated phone numbers: ISBN-13 starts 978/979 (no country calling
 * code does), ISBN-10 is four hyphenated groups with a mod-11 check digit.
 */
function isbnLike(s: string): boolean {
  const digits = s.replace(/[\s-]/g, '');
  if (/^97[89]\d{10}$/.test(digits)) return true;
  if (!/^\d{9}[\dX]$/i.test(digits) || s.split('-').length !== 4) return false;
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += (10 - i) * (/x/i.test(digits[i]!) ? 10 : Number(digits[i]));
  return sum % 11 === 0;
}

/** A phone number has 8-15 digits (E.164), and is not a date, a time or a decimal. */
function plausiblePhone(s: string): boolean {
  const digits = s.replace(/\D/g, '');
  if (digits.length < (s.startsWith('+') ? 8 : 9) || digits.length > 15) return false;
  if (/^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$/.test(s) || /^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$/.test(s)) return false;
  // Build numbers and timestamps that open with a dotted date (2024.01.15.1234).
  if (/^(?:19|20)\d\d\.\d{1,2}\.\d{1,2}(?:\D|$)/.test(s)) return false;
  if (isbnLike(s)) return false;
  if (/^\d+\.\d+$/.test(s)) return false;
  // Separators should group digits; long runs with no separator and no + are usually ids.
  return s.startsWith('+') || /[\s.()-]/.test(s);
}

function collect(text: string, re: RegExp, kind: PiiKind, keep: (m: string) => boolean, out: PiiMatch[]): void {
  for (const m of text.matchAll(re)) {
    const start = m.index!;
    const end = start + m[0].length;
    if (out.some((o) => start < o.end && end > o.start)) continue;
    if (keep(m[0])) out.push({ kind, start, end, text: m[0] });
  }
}

/** Every personal-data match in a text, without overlaps, in text order. */
export function findPersonalData(text: string, kinds: readonly PiiKind[] = PII_KINDS): PiiMatch[] {
  const out: PiiMatch[] = [];
  const on = new Set(kinds);
  // Order matters: a URL or an email contains things that look like other kinds.
  if (on.has('url-secret')) collect(text, URL_RE, 'url-secret', (u) => SECRET_PARAM.test(u) || USERINFO.test(u), out);
  if (on.has('email')) collect(text, EMAIL, 'email', () => true, out);
  if (on.has('iban')) {
    for (const [start, end] of findIbans(text)) {
      if (!out.some((o) => start < o.end && end > o.start)) out.push({ kind: 'iban', start, end, text: text.slice(start, end) });
    }
  }
  if (on.has('card')) collect(text, CARD, 'card', (c) => { const d = c.replace(/\D/g, ''); return d.length >= 13 && d.length <= 19 && luhn(d); }, out);
  if (on.has('ip')) {
    collect(text, IPV4, 'ip', () => true, out);
    collect(text, IPV6_CANDIDATE, 'ip', validIpv6, out);
  }
  if (on.has('phone')) collect(text, PHONE, 'phone', (p) => plausiblePhone(p.trim()), out);
  return out.sort((a, b) => a.start - b.start);
}

/** The text with each match replaced by its placeholder ([EMAIL], [PHONE], ...). */
export function maskPersonalData(text: string, kinds?: readonly PiiKind[]): { text: string; matches: PiiMatch[] } {
  const matches = findPersonalData(text, kinds);
  let out = '';
  let at = 0;
  for (const m of matches) {
    out += text.slice(at, m.start) + PII_PLACEHOLDER[m.kind];
    at = m.end;
  }
  return { text: out + text.slice(at), matches };
}
