import type { Transformer } from '../model/transformer.ts';
import { encodePair } from './multiple-choice.ts';
import { scorePacked } from './packed-score.ts';

/** A continuation of a context to score: Σ log p(continuation tokens | context). */
export interface TextPair {
  readonly context: string;
  readonly continuation: string;
}

export interface PairScore {
  readonly logprob: number;
  readonly tokens: number;
}

/** Anything that gives log-likelihoods of text continuations (the model; a hand-made model in tests). */
export type TextScorer = (pairs: readonly TextPair[]) => Promise<PairScore[]>;

/**
 * The model as a TextScorer: each pair split the way lm-evaluation-harness splits it, all pairs
 * packed into shared forward passes. Too-long pairs are refused with the pair's number.
 */
export function modelScorer(model: Transformer, tok: { encode(text: string): number[] }, o: { batch?: number } = {}): TextScorer {
  return async (pairs) => {
    const seqs = pairs.map((p, i) => {
      const e = encodePair(tok, p.context, p.continuation);
      const n = e.context.length + e.continuation.length;
      if (n > model.cfg.maxPositions) throw new RangeError(`text ${i + 1} takes ${n} tokens, more than the model's ${model.cfg.maxPositions} positions`);
      return { inputIds: [...e.context, ...e.continuation], labels: [...e.context.map(() => -100), ...e.continuation] };
    });
    const nll = await scorePacked(model, seqs, { batch: o.batch });
    return seqs.map((s, i) => ({ logprob: -nll[i]!, tokens: s.labels.filter((l) => l >= 0).length }));
  };
}
