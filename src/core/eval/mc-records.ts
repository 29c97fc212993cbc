/**
 * Multiple-choice records from JSONL (or a JSON array): `{"question", "choices", "answer"}`, or the
 * field names of common lm-evaluation-harness exports (ARC `question`/`choices.text`/`answerKey`,
 * HellaSwag `ctx`/`endings`/`label`, MMLU `question`/`choices`/`answer`, others `query`/`gold`).
 */
import { InputError } from '../errors.ts';

export interface McRecord {
  readonly line: number;
  readonly question: string;
  readonly choices: readonly string[];
  readonly answer: number;
  /** Every field of the record, for `{field}` in a template. */
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Which record field holds each part; unset parts are recognised by their common names. */
export interface McFieldMap {
  readonly question?: string;
  readonly choices?: string;
  readonly answer?: string;
}

export const MAX_CHOICES = 256;
/** Longer questions are refused before tokenizing (no small model has this many positions). */
export const MAX_QUESTION_CHARS = 100_000;

const NAMES = {
  question: ['question', 'query', 'ctx', 'prompt', 'goal', 'sentence'],
  choices: ['choices', 'endings', 'options', 'answers'],
  answer: ['answer', 'label', 'gold', 'answerKey', 'answer_idx'],
} as const;

/** Parses `question=query,choices=endings,answer=label` (the `--fields` flag). */
export function parseFieldMap(spec: string): McFieldMap {
  const map: Record<string, string> = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [key, field] = part.split('=').map((s) => s.trim());
    if (!key || !field || !(key in NAMES)) throw new InputError('--fields', `"${part}" should be question=FIELD, choices=FIELD or answer=FIELD`);
    map[key] = field;
  }
  return map;
}

function pick(value: Record<string, unknown>, part: keyof typeof NAMES, map: McFieldMap): [string, unknown] | null {
  const names = map[part] ? [map[part]!] : NAMES[part];
  for (const n of names) if (value[n] !== undefined) return [n, value[n]];
  return null;
}

/** Choice texts and, for ARC's `{"text": [...], "label": [...]}`, their labels. */
function choiceList(v: unknown): { texts: string[]; labels: string[] | null } | string {
  if (v && typeof v === 'object' && !Array.isArray(v) && Array.isArray((v as { text?: unknown }).text)) {
    const o = v as { text: unknown[]; label?: unknown };
    const got = choiceList(o.text);
    if (typeof got === 'string') return got;
    return { texts: got.texts, labels: Array.isArray(o.label) ? o.label.map(String) : null };
  }
  if (!Array.isArray(v)) return 'should be a list of strings';
  const bad = v.findIndex((c) => typeof c !== 'string');
  if (bad >= 0) return `choice ${bad} is not a string`;
  return { texts: v as string[], labels: null };
}

/** An answer as an index, a numeric string, a choice label ("B") or a letter A-Z. */
function answerIndex(v: unknown, labels: string[] | null): number | null {
  if (typeof v === 'number') return Number.isInteger(v) ? v : null;
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (labels?.includes(s)) return labels.indexOf(s);
  if (/^\d+$/.test(s)) return Number(s);
  if (/^[A-Z]$/.test(s)) return s.charCodeAt(0) - 65;
  return null;
}

export function parseMcRecord(value: unknown, line: number, file: string, map: McFieldMap = {}): McRecord {
  const where = `line ${line}`;
  const fail = (reason: string) => new InputError(file, reason, where);
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw fail('expected a JSON object');
  const rec = value as Record<string, unknown>;
  const q = pick(rec, 'question', map);
  const c = pick(rec, 'choices', map);
  const a = pick(rec, 'answer', map);
  if (!q) throw fail(`no question field (${map.question ?? NAMES.question.join(', ')}); map one with --fields question=FIELD`);
  if (!c) throw fail(`no choices field (${map.choices ?? NAMES.choices.join(', ')}); map one with --fields choices=FIELD`);
  if (!a) throw fail(`no answer field (${map.answer ?? NAMES.answer.join(', ')}); map one with --fields answer=FIELD`);
  if (typeof q[1] !== 'string') throw fail(`"${q[0]}" should be a string`);
  if (q[1].length > MAX_QUESTION_CHARS) throw fail(`"${q[0]}" has ${q[1].length} characters; at most ${MAX_QUESTION_CHARS} are scored`);
  const list = choiceList(c[1]);
  if (typeof list === 'string') throw fail(`"${c[0]}" ${list}`);
  if (list.texts.length === 0) throw fail(`"${c[0]}" is empty: a question needs at least one choice`);
  if (list.texts.length > MAX_CHOICES) throw fail(`"${c[0]}" has ${list.texts.length} choices; at most ${MAX_CHOICES} are allowed`);
  const longest = list.texts.reduce((m, t) => Math.max(m, t.length), 0);
  if (longest > MAX_QUESTION_CHARS) throw fail(`a choice has ${longest} characters; at most ${MAX_QUESTION_CHARS} are scored`);
  const answer = answerIndex(a[1], list.labels);
  if (answer === null) throw fail(`"${a[0]}" ${JSON.stringify(a[1])} is not a choice index or label`);
  if (answer < 0 || answer >= list.texts.length) throw fail(`"${a[0]}" ${answer} is outside the ${list.texts.length} choices (0-${list.texts.length - 1})`);
  return { line, question: q[1], choices: list.texts, answer, fields: rec };
}

/** Every record of a JSONL file or JSON array; the first bad one stops with its line. */
export function parseMcFile(text: string, file: string, map: McFieldMap = {}): McRecord[] {
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  const out: McRecord[] = [];
  if (trimmed.startsWith('[')) {
    let arr: unknown;
    try {
      arr = JSON.parse(trimmed);
    } catch (e) {
      throw new InputError(file, `not valid JSON (${(e as Error).message})`);
    }
    (arr as unknown[]).forEach((v, i) => out.push(parseMcRecord(v, i + 1, file, map)));
  } else {
    const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
    lines.forEach((l, i) => {
      if (!l.trim()) return;
      let v: unknown;
      try {
        v = JSON.parse(l);
      } catch (e) {
        throw new InputError(file, `not valid JSON (${(e as Error).message})`, `line ${i + 1}`);
      }
      out.push(parseMcRecord(v, i + 1, file, map));
    });
  }
  if (out.length === 0) throw new InputError(file, 'no multiple-choice records');
  return out;
}
