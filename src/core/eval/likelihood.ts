import { readTensor } from '../gpu/tensor.ts';
import { StepState } from '../kernels/step-state.ts';
import { StepPlan } from '../model/step-plan.ts';
import type { Transformer } from '../model/transformer.ts';
import { runStep } from '../train/step.ts';

/** One sequence to score: labels -100 carry no loss (the next-token shift happens inside). */
export interface ScoredSequence {
  readonly inputIds: readonly number[];
  readonly labels: readonly number[];
}

export interface SequenceScore {
  /** Σ negative log-likelihood over the target tokens. */
  readonly nll: number;
  readonly tokens: number;
  /** Mean loss (nats per target token); NaN without targets. */
  readonly loss: number;
}

export interface LikelihoodReport {
  /** Mean cross-entropy over every target token of every sequence (transformers' loss). */
  readonly loss: number;
  readonly perplexity: number;
  readonly tokens: number;
  readonly sequences: readonly SequenceScore[];
}

/**
 * Scores sequences with the model (adapter included when attached): the exact loss transformers
 * reports, and each sequence's own loss. Sequences are padded to the longest and run B at a time.
 */
export async function scoreSequences(
  model: Transformer, seqs: readonly ScoredSequence[], o: { batch?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<LikelihoodReport> {
  if (seqs.length === 0) return { loss: NaN, perplexity: NaN, tokens: 0, sequences: [] };
  const B = Math.max(1, Math.min(o.batch ?? 8, seqs.length));
  const S = Math.max(2, ...seqs.map((s) => s.inputIds.length));
  if (S > model.cfg.maxPositions) throw new RangeError(`a sequence of ${S} tokens exceeds the model's ${model.cfg.maxPositions} positions`);
  const gpu = model.gpu;
  const step = new StepState(gpu);
  const plan = await StepPlan.build(model, { batch: B, seq: S, train: false }, step);
  try {
    const scores: SequenceScore[] = [];
    for (let i = 0; i < seqs.length; i += B) {
      const ids = new Int32Array(B * S);
      const labels = new Int32Array(B * S).fill(-100);
      const rows = seqs.slice(i, i + B);
      rows.forEach((s, b) => {
        if (s.labels.length !== s.inputIds.length) throw new Error(`sequence ${i + b + 1}: ${s.labels.length} labels for ${s.inputIds.length} ids`);
        ids.set(s.inputIds, b * S);
        labels.set(s.labels, b * S);
      });
      // The forward must be submitted before the row losses are copied out.
      await runStep(gpu, plan, null, step, [{ ids, labels }], 0, 0).done;
      const rowLoss = await readTensor(gpu, plan.rowLoss);
      rows.forEach((s, b) => {
        let nll = 0;
        let tokens = 0;
        for (let t = 0; t + 1 < s.inputIds.length; t++) {
          const l = s.labels[t + 1]!;
          if (l === -100 || l < 0) continue;
          nll += rowLoss[b * S + t]!;
          tokens++;
        }
        scores.push({ nll, tokens, loss: tokens ? nll / tokens : NaN });
      });
      o.onProgress?.(Math.min(seqs.length, i + B), seqs.length);
    }
    const nll = scores.reduce((a, s) => a + s.nll, 0);
    const tokens = scores.reduce((a, s) => a + s.tokens, 0);
    const loss = tokens ? nll / tokens : NaN;
    return { loss, perplexity: Math.exp(loss), tokens, sequences: scores };
  } finally {
    plan.destroy();
    step.destroy();
  }
}
