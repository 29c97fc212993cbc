/**
 * A light language guess for Latin-script text from function words ("stop words"). It only knows
 * en, fr, de, es, it, pt and nl; it answers `unknown` when a text has too few function words or
 * two languages score close (short texts, names, code, mixed text), and it will call a language it
 * does not know (Catalan, Romanian...) by its nearest neighbour or `unknown`. It is a filter aid,
 * not a language identifier: anything it cannot judge is kept by default.
 */

export const LANGUAGES = ['en', 'fr', 'de', 'es', 'it', 'pt', 'nl'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Frequent function words per language (lower case; elided forms like l' d' appear as l, d). */
const STOP_WORDS: Record<Language, string> = {
  en:
    'the and of to a in is that it for was on with as are be this by at from or have not but they ' +
    'you he she we i his her which what an were will would there their been has can how do does my your if about',
  fr:
    "le la les de des du et un une est en que qui dans pour pas sur au aux avec ce cette il elle ils nous " +
    "vous je ne se sont par plus mais ou son sa ses leur été être avoir était comme très aussi c l d j n qu s",
  de:
    'der die das und ist nicht ein eine einen dem den des zu mit sich auf für von im auch es ich ' +
    'sie er wir ihr aber oder wie bei nach noch nur wird werden sind war hat haben kann dass wenn sehr schon über',
  es:
    'el la los las de del y que en un una es por para con no se lo al como ' +
    'más pero sus su este esta está son ya muy también hay fue ser sin sobre entre cuando todo yo tú',
  it:
    'il lo la i gli le di del della dei e che è un una per non in con si sono ' +
    'da al alla come ma più anche questo questa nel nella sul ha hanno era essere molto io noi voi ci',
  pt:
    'o a os as de do da dos das e que em no na nos um uma para com não por ' +
    'se é mais mas ao como foi são está muito também isso este esta ele ela eu você nós seu sua',
  nl:
    'de het een en van in is dat op te zijn met voor niet aan er ook als bij maar om wordt ' +
    'door naar dan of zo nog wat ze hij ik je wij jullie was heeft hebben kan deze dit die geen worden uit',
};

/** word → languages listing it; a word in k lists adds 1/k to each, so shared words ("de", "la") weigh less. */
const INDEX = new Map<string, Language[]>();
for (const lang of LANGUAGES) {
  for (const w of STOP_WORDS[lang].split(' ')) {
    const langs = INDEX.get(w);
    if (langs) langs.push(lang);
    else INDEX.set(w, [lang]);
  }
}

export interface LanguageGuess {
  readonly language: Language | 'unknown';
  /** Weighted function-word hits per language. */
  readonly scores: Partial<Record<Language, number>>;
  readonly words: number;
}

export interface LanguageGuessOptions {
  /** Fewest weighted function-word hits for an answer. Default 2. */
  readonly minHits: number;
  /** The best score must exceed the runner-up by this factor. Default 1.5. */
  readonly margin: number;
}

export const DEFAULT_GUESS: LanguageGuessOptions = { minHits: 2, margin: 1.5 };

const WORD = /\p{L}+/gu;

export function guessLanguage(text: string, opts: LanguageGuessOptions = DEFAULT_GUESS): LanguageGuess {
  const scores: Partial<Record<Language, number>> = {};
  let words = 0;
  for (const m of text.toLowerCase().matchAll(WORD)) {
    words++;
    const langs = INDEX.get(m[0]);
    if (!langs) continue;
    for (const l of langs) scores[l] = (scores[l] ?? 0) + 1 / langs.length;
  }
  let best: Language | null = null;
  let bestScore = 0;
  let second = 0;
  for (const l of LANGUAGES) {
    const s = scores[l] ?? 0;
    if (s > bestScore) {
      second = bestScore;
      bestScore = s;
      best = l;
    } else if (s > second) second = s;
  }
  const sure = best !== null && bestScore >= opts.minHits && bestScore > second * opts.margin;
  return { language: sure ? best! : 'unknown', scores, words };
}
