// The demo task: grounded question answering. Each record gives a short passage of two Factbook
// facts about one country (its region and one other, in either order) and asks for the region;
// the answer is the region as the passage names it. The skill (find the region among the facts and
// say it) is learnt in minutes by the tiny demo model, which knows no geography and cannot yet
// copy arbitrary spans (it was pretrained on one novel). Held-out records are about countries that
// no training record mentions.
import { seeded } from './demo-facts.mjs';

// How each fact reads in a passage, and the question that asks for it.
const FIELDS = {
  capital: { says: 'The capital of {c} is {v}.', asks: 'What is the capital of {c}?' },
  region: { says: '{c} is in {v}.', asks: 'Which region is {c} in?' },
  language: { says: 'The main language of {c} is {v}.', asks: 'What is the main language of {c}?' },
  currency: { says: 'The currency of {c} is the {v}.', asks: 'What is the currency of {c}?' },
  symbol: { says: 'The national symbol of {c} is the {v}.', asks: 'What is the national symbol of {c}?' },
  independence: { says: '{c} became independent in {v}.', asks: 'When did {c} become independent?' },
  highest: { says: 'The highest point of {c} is {v}.', asks: 'What is the highest point of {c}?' },
};

const PASSAGE_FACTS = 1;
// The asked fact: its answers come from a closed set of ten regions, so a tiny model that cannot
// yet copy arbitrary spans learns to read the right one from the passage.
const ASKED = 'region';
// Long values (a currency with its history, a 40-letter mountain) make long passages.
const MAX_VALUE = 24;

const fill = (s, country, field) => s.replaceAll('{c}', country.name).replaceAll('{v}', country.facts[field]);
const fieldsOf = (country) => Object.keys(FIELDS).filter((f) => country.facts[f] && country.facts[f].length <= MAX_VALUE);

/**
 * One record: a passage with the country's region and one other fact in either order, the
 * question for the region, and the region as the answer (read from the passage, not recalled).
 */
function record(country, g) {
  const others = g.shuffle(fieldsOf(country).filter((f) => f !== ASKED)).slice(0, PASSAGE_FACTS - 1);
  const passage = g.shuffle([ASKED, ...others]).map((f) => fill(FIELDS[f].says, country, f)).join(' ');
  return {
    messages: [
      { role: 'user', content: `${passage}\nQuestion: ${fill(FIELDS[ASKED].asks, country, ASKED)}` },
      { role: 'assistant', content: country.facts[ASKED] },
    ],
    category: ASKED,
    answer: country.facts[ASKED],
  };
}

/**
 * Train and held-out records. Countries are split first (every `heldEvery`-th after a seeded
 * shuffle is held out); each training country gives `perCountry` records with different passages.
 */
export function groundedQa(countries, { seed = 2026, heldEvery = 6, perCountry = 3 } = {}) {
  const g = seeded(seed);
  // Names with a note in brackets ("Svalbard (sometimes referred to as ...)") make passages too long.
  const usable = g.shuffle(countries.filter((c) => c.name.length <= 30 && !c.name.includes('(') && c.facts[ASKED] && fieldsOf(c).filter((f) => f !== ASKED).length >= PASSAGE_FACTS - 1));
  const train = [];
  const held = [];
  usable.forEach((country, i) => {
    if (i % heldEvery === 0) held.push(record(country, g));
    else for (let k = 0; k < perCountry; k++) train.push(record(country, g));
  });
  return { train: g.shuffle(train), held };
}
