/**
 * Augmentation and synthesis. Template synthesis turns structured rows into instruction pairs
 * with several phrasings; model synthesis asks the loaded model for new questions and answers in
 * the style of seed examples (self-instruct) or for paraphrases. Every generated record is marked
 * `generated` and `accepted: false`, and is returned separately for a person to review.
 */
import { Rng } from '../../rng.ts';
import type { DatasetRecord, RecordSource } from '../records.ts';
import { recordText } from './record-text.ts';

/** The loaded model as a text generator (the Worker and the CLI adapt their Session to it). */
export interface TextGenerator {
  generate(prompt: string, opts: { maxNewTokens: number; temperature: number; seed: number }): Promise<string>;
}

export interface PairTemplate {
  /** Phrasings of the question, with {field} placeholders. */
  readonly questions: readonly string[];
  /** The answer, with {field} placeholders. */
  readonly answer: string;
}

const SYNTH_SOURCE = (file: string, line: number): RecordSource => ({ file, line });

/** Fills {field} placeholders; null when a field is missing or empty (the pair is skipped). */
export function fill(template: string, row: Readonly<Record<string, unknown>>): string | null {
  let missing = false;
  const out = template.replace(/\{([^{}]+)\}/g, (_, name: string) => {
    const v = row[name.trim()];
    if (v === undefined || v === null || String(v).trim() === '') {
      missing = true;
      return '';
    }
    return String(v).trim();
  });
  return missing ? null : out;
}

/**
 * Instruction pairs from rows (CSV/JSON objects): for every row and template, `perRow` seeded
 * choices among the question phrasings, as chat records.
 */
export function synthesizeFromTemplates(
  rows: readonly Readonly<Record<string, unknown>>[], templates: readonly PairTemplate[],
  o: { seed: number; perRow?: number; file?: string } = { seed: 0 },
): DatasetRecord[] {
  const rng = new Rng(o.seed);
  const out: DatasetRecord[] = [];
  const file = o.file ?? 'template synthesis';
  rows.forEach((row, i) => {
    for (const t of templates) {
      const phrasings = rng.shuffle([...t.questions]).slice(0, Math.max(1, o.perRow ?? 1));
      for (const q of phrasings) {
        const question = fill(q, row);
        const answer = fill(t.answer, row);
        if (!question || !answer) continue;
        out.push({
          record: { kind: 'chat', messages: [{ role: 'user', content: question }, { role: 'assistant', content: answer }] },
          source: SYNTH_SOURCE(file, i + 1),
          fields: { ...row },
          generated: { method: 'template', accepted: false },
        });
      }
    }
  });
  return out;
}

/** Question and answer of a record, when it has that shape. */
export function questionAnswer(rec: DatasetRecord): { q: string; a: string } | null {
  const r = rec.record;
  if (r.kind === 'prompt') return { q: r.prompt, a: r.completion };
  if (r.kind === 'chat') {
    const u = r.messages.find((m) => m.role === 'user');
    const a = r.messages.find((m) => m.role === 'assistant');
    return u && a ? { q: u.content, a: a.content } : null;
  }
  return null;
}

/** Parses "Question: … Answer: …" (or Q:/A:) out of a generation. */
export function parseQA(text: string): { q: string; a: string } | null {
  const m = /(?:^|\n)\s*(?:Question|Q)\s*:\s*([\s\S]+?)\n\s*(?:Answer|A)\s*:\s*([\s\S]+?)(?:\n\s*(?:Question|Q)\s*:|$)/i.exec(text.trim());
  if (!m) return null;
  const q = m[1]!.trim();
  const a = m[2]!.trim().split(/\n\n/)[0]!.trim();
  return q && a ? { q, a } : null;
}

/**
 * Self-instruct: prompts the model with a few seed pairs and asks for a new one; keeps the new,
 * well-formed pairs that do not repeat a seed question.
 */
export async function selfInstruct(
  generator: TextGenerator, seeds: readonly DatasetRecord[],
  o: { count: number; seed: number; shots?: number; maxNewTokens?: number; temperature?: number; maxAttempts?: number },
): Promise<DatasetRecord[]> {
  const pairs = seeds.map((s) => ({ s, qa: questionAnswer(s) })).filter((x) => x.qa !== null) as { s: DatasetRecord; qa: { q: string; a: string } }[];
  if (pairs.length === 0) throw new Error('self-instruct needs seed records with a question and an answer (prompt/completion or chat)');
  const rng = new Rng(o.seed);
  const known = new Set(pairs.map((p) => p.qa.q.toLowerCase().trim()));
  const out: DatasetRecord[] = [];
  const attempts = o.maxAttempts ?? o.count * 4;
  for (let k = 0; k < attempts && out.length < o.count; k++) {
    const shots = rng.shuffle([...pairs]).slice(0, Math.min(o.shots ?? 3, pairs.length));
    const prompt = `${shots.map((p) => `Question: ${p.qa.q}\nAnswer: ${p.qa.a}`).join('\n\n')}\n\nQuestion:`;
    const text = await generator.generate(prompt, { maxNewTokens: o.maxNewTokens ?? 64, temperature: o.temperature ?? 0.9, seed: rng.u32() });
    const qa = parseQA(`Question:${text}`);
    if (!qa || known.has(qa.q.toLowerCase())) continue;
    known.add(qa.q.toLowerCase());
    out.push({
      record: { kind: 'chat', messages: [{ role: 'user', content: qa.q }, { role: 'assistant', content: qa.a }] },
      source: SYNTH_SOURCE('self-instruct', out.length + 1),
      generated: { method: 'self-instruct', from: shots[0]!.s.source, accepted: false },
    });
  }
  return out;
}

/** Paraphrases each record's question (or text) with the model; the answer stays. */
export async function paraphrase(
  generator: TextGenerator, records: readonly DatasetRecord[], o: { seed: number; maxNewTokens?: number; temperature?: number },
): Promise<DatasetRecord[]> {
  const out: DatasetRecord[] = [];
  const rng = new Rng(o.seed);
  for (const rec of records) {
    const qa = questionAnswer(rec);
    const original = qa?.q ?? recordText(rec.record);
    if (!original.trim()) continue;
    const prompt = `Rewrite the sentence with different words and the same meaning.\nSentence: ${original}\nRewritten:`;
    const sampling = { maxNewTokens: o.maxNewTokens ?? 48, temperature: o.temperature ?? 0.7, seed: rng.u32() };
    const text = (await generator.generate(prompt, sampling)).split('\n')[0]!.trim();
    if (!text || text.toLowerCase() === original.toLowerCase()) continue;
    const record = qa
      ? { kind: 'chat' as const, messages: [{ role: 'user', content: text }, { role: 'assistant', content: qa.a }] }
      : { kind: 'text' as const, text };
    const generated = { method: 'paraphrase', from: rec.source, accepted: false } as const;
    out.push({ record, source: rec.source, ...(rec.fields ? { fields: rec.fields } : {}), generated });
  }
  return out;
}
