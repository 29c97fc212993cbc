import { readTensor } from '../gpu/tensor.ts';
import { StepState } from '../kernels/step-state.ts';
import { StepPlan } from '../model/step-plan.ts';
import type { Transformer } from '../model/transformer.ts';
import { runStep } from '../train/step.ts';
import type { ScoredSequence } from './likelihood.ts';

/** Where a sequence sits in the packed batch: row and first column. */
interface Slot {
  readonly row: number;
  readonly at: number;
}

export interface PackedOptions {
  /** Rows per forward pass. */
  readonly batch?: number;
  /** Tokens per row (at least the longest sequence, at most the model's positions). */
  readonly rowTokens?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * First-fit decreasing: longest sequences first, each into the first row with room. Every
 * sequence keeps its own positions and attention (segments), so packing changes no number.
 */
export function packRows(lengths: readonly number[], rowTokens: number): { slots: Slot[]; rows: number } {
  const order = lengths.map((n, i) => [n, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const used: number[] = [];
  const slots: Slot[] = new Array(lengths.length);
  for (const [n, i] of order) {
    if (n > rowTokens) throw new RangeError(`sequence ${i + 1} has ${n} tokens, more than a row's ${rowTokens}`);
    let row = used.findIndex((u) => u + n <= rowTokens);
    if (row < 0) row = used.push(0) - 1;
    slots[i] = { row, at: used[row]! };
    used[row]! += n;
  }
  return { slots, rows: used.length };
}

/**
 * Σ negative log-likelihood of each sequence's labelled tokens (the next-token shift inside, as in
 * transformers), with many sequences packed into each row and several rows per forward pass.
 * No generation: one forward per `batch` rows.
 */
export async function scorePacked(model: Transformer, seqs: readonly ScoredSequence[], o: PackedOptions = {}): Promise<Float64Array> {
  const nll = new Float64Array(seqs.length);
  if (seqs.length === 0) return nll;
  const longest = Math.max(2, ...seqs.map((s) => s.inputIds.length));
  const limit = model.cfg.maxPositions;
  if (longest > limit) throw new RangeError(`a sequence of ${longest} tokens exceeds the model's ${limit} positions`);
  const S = Math.min(limit, Math.max(longest, o.rowTokens ?? 256));
  const { slots, rows } = packRows(seqs.map((s) => s.inputIds.length), S);
  const B = Math.max(1, Math.min(o.batch ?? 8, rows));
  const byRow: number[][] = Array.from({ length: rows }, () => []);
  slots.forEach((s, i) => byRow[s.row]!.push(i));

  const step = new StepState(model.gpu);
  const plan = await StepPlan.build(model, { batch: B, seq: S, train: false }, step);
  try {
    for (let r0 = 0; r0 < rows; r0 += B) {
      const ids = new Int32Array(B * S);
      const labels = new Int32Array(B * S).fill(-100);
      // Padding gets a segment of its own; segment numbers only need to differ from a neighbour's.
      const segments = new Uint32Array(B * S).fill(0xffffffff);
      for (let b = 0; b < B && r0 + b < rows; b++) {
        for (const i of byRow[r0 + b]!) {
          const s = seqs[i]!;
          if (s.labels.length !== s.inputIds.length) throw new Error(`sequence ${i + 1}: ${s.labels.length} labels for ${s.inputIds.length} ids`);
          const base = b * S + slots[i]!.at;
          ids.set(s.inputIds, base);
          labels.set(s.labels, base);
          segments.fill(i, base, base + s.inputIds.length);
        }
      }
      await runStep(model.gpu, plan, null, step, [{ ids, labels, segments }], 0, 0).done;
      const rowLoss = await readTensor(model.gpu, plan.rowLoss);
      for (let b = 0; b < B && r0 + b < rows; b++) {
        for (const i of byRow[r0 + b]!) {
          const s = seqs[i]!;
          const base = b * S + slots[i]!.at;
          let sum = 0;
          for (let t = 0; t + 1 < s.inputIds.length; t++) if (s.labels[t + 1]! >= 0) sum += rowLoss[base + t]!;
          nll[i] = sum;
        }
      }
      o.onProgress?.(Math.min(rows, r0 + B), rows);
    }
    return nll;
  } finally {
    plan.destroy();
    step.destroy();
  }
}
