// The demo task: grounded question answering. Each record gives a short passage about one country
// (three Factbook facts in a random order) and a question about one of them; the answer quotes the
// passage's sentence that holds it. The skill (find the fact the question names, copy it) can be
// learnt in minutes by a tiny model; the facts themselves need not be known. Held-out records are
// about countries that no training record mentions.
import { seeded } from './demo-facts.mjs';

// How each fact reads in a passage (one sentence each, so the answer can quote it), and the ways
// a question can ask for it.
const FIELDS = {
  capital: { says: 'The capital of {c} is {v}.', asks: ['What is the capital of {c}?', 'Which city is the capital of {c}?', 'Name the capital of {c}.'] },
  region: { says: '{c} is in {v}.', asks: ['Where is {c}?', 'In which part of the world is {c}?', 'Which region is {c} in?'] },
  language: { says: 'The main language of {c} is {v}.', asks: ['What language is spoken in {c}?', 'Which language do most people in {c} speak?'] },
  currency: { says: 'The currency of {c} is the {v}.', asks: ['What is the currency of {c}?', 'What money is used in {c}?'] },
  symbol: { says: 'The national symbol of {c} is the {v}.', asks: ['What is the national symbol of {c}?', 'Which emblem stands for {c}?'] },
  independence: { says: '{c} became independent in {v}.', asks: ['When did {c} become independent?', 'In which year did {c} gain independence?'] },
  highest: { says: 'The highest point of {c} is {v}.', asks: ['What is the highest point of {c}?', 'Which is the highest mountain in {c}?'] },
  code: { says: 'The internet code of {c} is {v}.', asks: ['What is the internet code of {c}?', 'Which internet domain does {c} use?'] },
};

const PASSAGE_FACTS = 3;

/**
 * One record: a passage with the asked fact and two others in a random order, the question, and
 * as the answer the passage's sentence that holds the fact, quoted.
 */
function record(country, field, g) {
  const { facts } = country;
  const fill = (s) => s.replaceAll('{c}', country.name).replaceAll('{v}', facts[field]);
  const say = (f) => FIELDS[f].says.replaceAll('{c}', country.name).replaceAll('{v}', facts[f]);
  const others = g.shuffle(Object.keys(FIELDS).filter((f) => f !== field && facts[f])).slice(0, PASSAGE_FACTS - 1);
  const passage = g.shuffle([field, ...others]).map(say).join(' ');
  return {
    messages: [
      { role: 'user', content: `${passage}\nQuestion: ${fill(g.pick(FIELDS[field].asks))}` },
      { role: 'assistant', content: say(field) },
    ],
    category: field,
    answer: facts[field],
  };
}

/**
 * Train and held-out records. Countries are split first (every `heldEvery`-th after a seeded
 * shuffle is held out); each training country gives `perCountry` records asking different facts.
 */
export function groundedQa(countries, { seed = 2026, heldEvery = 6, perCountry = 3 } = {}) {
  const g = seeded(seed);
  // Names with a note in brackets ("Svalbard (sometimes referred to as ...)") make passages too long.
  const usable = g.shuffle(countries.filter((c) => c.name.length <= 30 && !c.name.includes('(') && Object.keys(FIELDS).filter((f) => c.facts[f]).length >= PASSAGE_FACTS));
  const train = [];
  const held = [];
  usable.forEach((country, i) => {
    const asked = g.shuffle(Object.keys(FIELDS).filter((f) => country.facts[f]));
    if (i % heldEvery === 0) held.push(record(country, asked[0], g));
    else for (const field of asked.slice(0, perCountry)) train.push(record(country, field, g));
  });
  return { train: g.shuffle(train), held };
}
