/**
 * The playground's feedback, kept in the workspace store: one record per rating, pick or edit, in
 * the same shape as `tabtune serve`'s feedback log (core/serve/monitor.ts), so an exported log is
 * what `tabtune data feedback --log FILE` reads. `adapter` is the run id (null: the base model).
 */
import type { FeedbackRecord } from '../serve/monitor.ts';
import { newId, type KeyValueStore } from './store.ts';

/** A stored record: the serve log's fields, and which app action made it. */
export interface PlaygroundFeedback extends FeedbackRecord {
  /** rating: 👍/👎; pick: `preferred` won over `completion` side by side; edit: `preferred` is the user's rewrite. */
  readonly action: 'rating' | 'pick' | 'edit';
  /** A pick: the run that wrote the preferred answer (null: the base model). */
  readonly preferred_adapter?: string | null;
}

/** A dataset made from feedback: TRL preference pairs or KTO examples. */
export type FeedbackFormat = 'preference' | 'kto';

export interface FeedbackLineage {
  /** The rated run (null: the base model's answers). */
  readonly runId: string | null;
  readonly runName: string;
  readonly format: FeedbackFormat;
  /** Feedback records used, by action. */
  readonly ratings: number;
  readonly picks: number;
  readonly edits: number;
}

export type FeedbackPrompt = FeedbackRecord['prompt'];

/** One answer as the playground shows it: an id of its own, what asked for it and who wrote it. */
export interface RatedAnswer {
  readonly id: string;
  readonly prompt: FeedbackPrompt;
  readonly completion: string;
  readonly adapter: string | null;
}

export type FeedbackInput =
  | { readonly action: 'rating'; readonly answer: RatedAnswer; readonly rating: 1 | -1 }
  | { readonly action: 'edit'; readonly answer: RatedAnswer; readonly preferred: string }
  | { readonly action: 'pick'; readonly better: RatedAnswer; readonly worse: RatedAnswer };

const PREFIX = 'feedback:';

function checkPrompt(p: FeedbackPrompt): void {
  const empty = typeof p === 'string' ? !p.trim() : p.length === 0;
  if (empty) throw new Error('feedback needs the prompt that was answered');
}

/** The record a rating, edit or pick becomes. Later records for the same answer id refine earlier ones. */
export function feedbackRecord(input: FeedbackInput, time: Date = new Date()): PlaygroundFeedback {
  const base = { type: 'feedback' as const, time: time.toISOString() };
  if (input.action === 'pick') {
    const { better, worse } = input;
    if (JSON.stringify(better.prompt) !== JSON.stringify(worse.prompt)) throw new Error('a pick compares two answers to the same prompt');
    if (better.completion === worse.completion) throw new Error('the two answers are the same text: there is nothing to pick');
    checkPrompt(worse.prompt);
    return {
      ...base, action: 'pick', id: worse.id, adapter: worse.adapter, prompt: worse.prompt, completion: worse.completion,
      rating: null, preferred: better.completion, preferred_adapter: better.adapter,
    };
  }
  const a = input.answer;
  checkPrompt(a.prompt);
  if (input.action === 'rating') {
    return { ...base, action: 'rating', id: a.id, adapter: a.adapter, prompt: a.prompt, completion: a.completion, rating: input.rating, preferred: null };
  }
  if (!input.preferred.trim()) throw new Error('the edited answer is empty');
  return { ...base, action: 'edit', id: a.id, adapter: a.adapter, prompt: a.prompt, completion: a.completion, rating: null, preferred: input.preferred };
}

/** Feedback records in the workspace store (IndexedDB in the app), oldest first. */
export class FeedbackLog {
  /** Orders records made in one millisecond (a later edit refines an earlier rating). */
  private seq = 0;

  constructor(private readonly store: KeyValueStore) {}

  async add(input: FeedbackInput): Promise<PlaygroundFeedback> {
    const record = feedbackRecord(input);
    const order = `${String(Date.now()).padStart(15, '0')}-${String(this.seq++ % 1e6).padStart(6, '0')}`;
    await this.store.set(`${PREFIX}${order}-${newId('fb')}`, record);
    return record;
  }

  /** Oldest first: keys sort by the time they were added. */
  async list(): Promise<PlaygroundFeedback[]> {
    const keys = (await this.store.keys()).filter((k) => k.startsWith(PREFIX)).sort();
    const records = await Promise.all(keys.map((k) => this.store.get<PlaygroundFeedback>(k)));
    return records.filter((r): r is PlaygroundFeedback => r !== undefined);
  }

  async clear(): Promise<void> {
    for (const k of (await this.store.keys()).filter((k) => k.startsWith(PREFIX))) await this.store.del(k);
  }
}

/** Records as a JSONL log, one per line (what `tabtune data feedback --log` reads). */
export function feedbackJsonl(records: readonly FeedbackRecord[]): Uint8Array {
  return new TextEncoder().encode(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}
