#!/usr/bin/env node
// Builds a small preference set from the demo Q&A (public/datasets/factbook-qa.jsonl): for each
// question, chosen = its own answer, rejected = the answer to another question of the same
// category (a wrong answer in the right form). TRL's conversational prompt/chosen/rejected format.
// Usage: node scripts/build-preference-demo.mjs OUT.jsonl [PAIRS] [SEED]
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [out, pairsArg = '240', seedArg = '7'] = process.argv.slice(2);
if (!out) {
  process.stderr.write('usage: node scripts/build-preference-demo.mjs OUT.jsonl [PAIRS] [SEED]\n');
  process.exit(1);
}
const src = fileURLToPath(new URL('../public/datasets/factbook-qa.jsonl', import.meta.url));
const rows = readFileSync(src, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
let s = Number(seedArg) >>> 0 || 1;
const rand = () => {
  s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
  return s / 4294967296;
};
const byCategory = new Map();
for (const r of rows) byCategory.set(r.category, [...(byCategory.get(r.category) ?? []), r]);
const order = rows.map((_, i) => i).sort(() => rand() - 0.5);
const lines = [];
for (const i of order) {
  if (lines.length >= Number(pairsArg)) break;
  const r = rows[i];
  const [question, answer] = r.messages;
  const others = byCategory.get(r.category).filter((o) => o.messages[1].content !== answer.content);
  if (!others.length) continue;
  const wrong = others[Math.floor(rand() * others.length)].messages[1].content;
  lines.push(JSON.stringify({ prompt: [question], chosen: [answer], rejected: [{ role: 'assistant', content: wrong }] }));
}
writeFileSync(`${out}.tmp`, `${lines.join('\n')}\n`);
renameSync(`${out}.tmp`, out);
process.stderr.write(`wrote ${lines.length} pairs to ${out}\n`);
