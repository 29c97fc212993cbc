import type { RecordSource } from '../data/records.ts';
import type { Session } from '../session.ts';
import { scoreSequences } from './likelihood.ts';

/** A tokenized example to evaluate, with where it came from. */
export interface EvalItem {
  readonly inputIds: readonly number[];
  readonly labels: readonly number[];
  readonly source: RecordSource;
}

export interface EvalExample {
  readonly index: number;
  readonly source: RecordSource;
  readonly loss: number;
  readonly tokens: number;
  readonly prompt?: string;
  readonly reference?: string;
  readonly generated?: string;
  readonly exactMatch?: boolean;
  readonly contains?: boolean;
  readonly meanLogprob?: number;
  readonly meanEntropy?: number;
}

export interface EvalReport {
  readonly runId: string | null;
  /** Mean cross-entropy over every target token (transformers' loss) and its exponential. */
  readonly loss: number;
  readonly perplexity: number;
  readonly tokens: number;
  readonly examples: readonly EvalExample[];
  /** Highest-loss examples first: the "data error potential" view (likely label noise or hard cases). */
  readonly hardest: readonly EvalExample[];
  /** Perplexity of the prompts alone: how familiar the inputs are to the model. */
  readonly promptPerplexity: number | null;
  /** Over generated answers (when generation was asked for). */
  readonly exactMatch: number | null;
  readonly contains: number | null;
  readonly meanLogprob: number | null;
  readonly meanEntropy: number | null;
}

export interface EvalOptions {
  readonly batch?: number;
  /** Generate answers for up to this many examples that have a prompt part (greedy). */
  readonly generate?: number;
  readonly maxNewTokens?: number;
  readonly runId?: string | null;
  readonly onProgress?: (done: number, total: number) => void;
  /** Aborting ends the evaluation between examples (an AbortError is thrown). */
  readonly signal?: AbortSignal;
}

/** Text compared for exact match: lower case, collapsed spaces, no trailing punctuation. */
export function normalizeAnswer(s: string): string {
  return s.toLowerCase().replace(/\s+/g, ' ').trim().replace(/[.!?;:,]+$/, '').trim();
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Index of the first token that carries loss (the answer starts there); -1 if none. */
function firstTrained(labels: readonly number[]): number {
  return labels.findIndex((l, i) => i > 0 && l !== -100 && l >= 0);
}

/**
 * Perplexity, per-example losses (hardest first), prompt perplexity and, optionally, generated
 * answers compared with the references (exact match / contains) with their mean log-probability
 * and entropy as an uncertainty measure. Uses whatever adapter the session has attached.
 */
export async function evaluate(session: Session, items: readonly EvalItem[], o: EvalOptions = {}): Promise<EvalReport> {
  const total = items.length + Math.min(o.generate ?? 0, items.length);
  o.signal?.throwIfAborted();
  o.onProgress?.(0, total);
  const scores = await scoreSequences(session.requireModel(), items, { batch: o.batch, onProgress: (d) => o.onProgress?.(d, total) });
  const examples: EvalExample[] = items.map((it, index) => {
    const { loss, tokens } = scores.sequences[index]!;
    return { index, source: it.source, loss, tokens };
  });

  // Prompts alone: every prompt token after the first is a target.
  const prompts = items
    .map((it) => firstTrained(it.labels))
    .map((k, i) => (k > 1 ? { inputIds: items[i]!.inputIds.slice(0, k), labels: items[i]!.inputIds.slice(0, k) } : null))
    .filter((x): x is { inputIds: number[]; labels: number[] } => x !== null);
  const promptPerplexity = prompts.length ? (await scoreSequences(session.requireModel(), prompts, { batch: o.batch })).perplexity : null;
  o.signal?.throwIfAborted();

  const tok = session.tokenizer;
  let generated = 0;
  for (const [i, it] of items.entries()) {
    if (generated >= (o.generate ?? 0) || !tok) break;
    o.signal?.throwIfAborted();
    const k = firstTrained(it.labels);
    if (k < 1) continue;
    const answerIds = it.inputIds.slice(k).filter((_, j) => it.labels[k + j] !== -100);
    const reference = tok.decode(answerIds, { skipSpecialTokens: true }).trim();
    const maxNewTokens = o.maxNewTokens ?? Math.min(128, answerIds.length + 16);
    const g = await session.generate(it.inputIds.slice(0, k), { maxNewTokens, greedy: true, signal: o.signal });
    o.signal?.throwIfAborted();
    const text = (g.text ?? '').trim();
    examples[i] = {
      ...examples[i]!, prompt: tok.decode(it.inputIds.slice(0, k), { skipSpecialTokens: false }), reference, generated: text,
      exactMatch: normalizeAnswer(text) === normalizeAnswer(reference),
      contains: normalizeAnswer(reference).length > 0 && normalizeAnswer(text).includes(normalizeAnswer(reference)),
      meanLogprob: mean(g.logprobs) ?? undefined, meanEntropy: mean(g.entropies) ?? undefined,
    };
    generated++;
    o.onProgress?.(items.length + generated, total);
  }
  const judged = examples.filter((e) => e.exactMatch !== undefined);
  const rate = (f: (e: EvalExample) => boolean) => (judged.length ? judged.filter(f).length / judged.length : null);
  return {
    runId: o.runId ?? null,
    loss: scores.loss,
    perplexity: scores.perplexity,
    tokens: scores.tokens,
    examples,
    hardest: [...examples].filter((e) => Number.isFinite(e.loss)).sort((a, b) => b.loss - a.loss).slice(0, 10),
    promptPerplexity,
    exactMatch: rate((e) => e.exactMatch === true),
    contains: rate((e) => e.contains === true),
    meanLogprob: mean(judged.map((e) => e.meanLogprob!).filter(Number.isFinite)),
    meanEntropy: mean(judged.map((e) => e.meanEntropy!).filter(Number.isFinite)),
  };
}
