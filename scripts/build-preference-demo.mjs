#!/usr/bin/env node
// Builds a preference set from the demo task (public/datasets/demo-grounded-qa*.jsonl): for each
// question, chosen = the region its passage names, rejected = another region, drawn with a seed
// from the training answers (a wrong answer in the right form). Drawing rejected regions as often
// as they are right answers means no region is "usually chosen": a model that ignores the passage
// and scores regions by how often they win gets about half the pairs right, so held-out accuracy
// measures reading. (Drawing them uniformly let a region prior alone get 0.675 of held-out pairs.)
// TRL's conversational prompt/chosen/rejected format.
// Usage: node scripts/build-preference-demo.mjs OUT.jsonl [PAIRS] [SEED] [--eval]
//   --eval reads the held-out questions (demo-grounded-qa-eval.jsonl: countries no training record names).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const held = args.includes('--eval');
const [out, pairsArg = '1000000', seedArg = '7'] = args.filter((a) => a !== '--eval');
if (!out) {
  process.stderr.write('usage: node scripts/build-preference-demo.mjs OUT.jsonl [PAIRS] [SEED] [--eval]\n');
  process.exit(1);
}
const data = (name) => fileURLToPath(new URL(`../public/datasets/${name}`, import.meta.url));
const read = (name) => readFileSync(data(name), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
// The answers' distribution is the training file's: the held-out file uses the same ten regions.
const answers = read('demo-grounded-qa.jsonl').map((r) => r.answer);
const rows = read(held ? 'demo-grounded-qa-eval.jsonl' : 'demo-grounded-qa.jsonl');
let s = Number(seedArg) >>> 0 || 1;
const rand = () => {
  s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
  return s / 4294967296;
};
const lines = [];
for (const r of rows.slice(0, Number(pairsArg))) {
  const [question, answer] = r.messages;
  const wrong = answers.filter((g) => g !== r.answer);
  const rejected = wrong[Math.floor(rand() * wrong.length)];
  lines.push(JSON.stringify({ prompt: [question], chosen: [answer], rejected: [{ role: 'assistant', content: rejected }] }));
}
writeFileSync(`${out}.tmp`, `${lines.join('\n')}\n`);
renameSync(`${out}.tmp`, out);
process.stderr.write(`wrote ${lines.length} pairs to ${out}\n`);
