// Builds public/benchmarks/factbook-mc.sample.jsonl: multiple-choice questions made from the demo's
// held-out Factbook questions. Wrong choices are other answers of the same kind with this question's
// country put in (e.g. "Dakar is the capital of Italy."), so only the fact tells them apart.
// Deterministic: run `node scripts/build-benchmarks.mjs` again to get the same file.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'public/datasets/factbook-qa-eval.jsonl');
const dest = join(root, 'public/benchmarks/factbook-mc.sample.jsonl');
const PER_CATEGORY = 10;
const CHOICES = 4;
const COUNTRY = /(?:spoken in|speak in|currency of|capital of|world is|Where is) (.+)[?.]$/;

let seed = 13;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

const items = readFileSync(src, 'utf8').split('\n').filter(Boolean).map((l) => {
  const r = JSON.parse(l);
  const question = r.messages[0].content;
  const answer = r.messages[1].content;
  const m = COUNTRY.exec(question);
  if (!m || !answer.includes(m[1])) throw new Error(`${src}: cannot find the country in "${question}"`);
  return { question, answer, country: m[1], category: r.category, frame: answer.split(m[1]).join('#') };
});

const out = [];
for (const category of [...new Set(items.map((i) => i.category))].sort()) {
  const group = items.filter((i) => i.category === category);
  for (const it of group.slice(0, PER_CATEGORY)) {
    const wrong = [];
    // Same sentence shape first ("# is the capital of X." vs "The capital of X is #."), so the form gives nothing away.
    const shapeOf = (a) => a.frame.split(' ').length + (a.frame.startsWith('The') ? 'the' : '');
    const ordered = [...group.filter((o) => shapeOf(o) === shapeOf(it)), ...group.filter((o) => shapeOf(o) !== shapeOf(it))];
    for (const other of ordered) {
      const text = other.answer.split(other.country).join(it.country);
      // An answer naming its country twice ("Kuwaiti dinar") would turn into nonsense.
      if (other.answer.split(other.country).length !== 2) continue;
      if (other !== it && text !== it.answer && !wrong.includes(text)) wrong.push(text);
    }
    const same = wrong.filter((w) => shapeOf({ frame: w.split(it.country).join('#') }) === shapeOf(it));
    const pool = same.length >= CHOICES - 1 ? same : wrong;
    const picked = pool.sort(() => rand() - 0.5).slice(0, CHOICES - 1);
    const answer = Math.floor(rand() * CHOICES);
    picked.splice(answer, 0, it.answer);
    out.push({ question: it.question, choices: picked, answer, category });
  }
}
const tmp = `${dest}.tmp`;
writeFileSync(tmp, out.map((o) => JSON.stringify(o)).join('\n') + '\n');
renameSync(tmp, dest);
console.log(`${dest}: ${out.length} questions`);
