/**
 * Sequence log-probabilities from the ordinary forward: the plan's per-token cross-entropy
 * summed over each row's completion tokens (the loss mask), negated. The reference model of a
 * LoRA run is the same model with the adapter off: a forward-only plan recorded without it.
 */
import { StepState } from '../../kernels/step-state.ts';
import { IGNORE_INDEX } from '../../kernels/cross-entropy.ts';
import { StepPlan, type Batch } from '../../model/step-plan.ts';
import type { Transformer } from '../../model/transformer.ts';
import type { Row } from '../../data/rows.ts';

export interface SequenceLogp {
  /** Σ log p(token) over the row's trained tokens. */
  readonly logp: number;
  /** Trained tokens (next-token targets) in the row. */
  readonly tokens: number;
}

/** Trained next-token targets of each of the batch's rows (labels at positions 1..S-1). */
export function targetsPerRow(labels: ArrayLike<number>, S: number): number[] {
  const rows = labels.length / S;
  return Array.from({ length: rows }, (_, b) => {
    let n = 0;
    for (let s = 1; s < S; s++) if (labels[b * S + s] !== IGNORE_INDEX && labels[b * S + s]! >= 0) n++;
    return n;
  });
}

/** Per-row sums of per-token losses [B·S] → log-probs. */
export function rowLogps(tokenLoss: ArrayLike<number>, labels: ArrayLike<number>, S: number): SequenceLogp[] {
  return targetsPerRow(labels, S).map((tokens, b) => {
    let sum = 0;
    for (let s = 0; s < S; s++) sum += tokenLoss[b * S + s]!;
    return { logp: -sum, tokens };
  });
}

/** Rows laid into micro-batches of `batch` rows; a short last batch is padded with empty rows. */
export function rowBatches(rows: readonly Row[], batch: number, S: number): Batch[] {
  const out: Batch[] = [];
  for (let i = 0; i < rows.length; i += batch) {
    const ids = new Int32Array(batch * S);
    const labels = new Int32Array(batch * S).fill(IGNORE_INDEX);
    for (let b = 0; b < batch && i + b < rows.length; b++) {
      ids.set(rows[i + b]!.inputIds, b * S);
      labels.set(rows[i + b]!.labels, b * S);
    }
    out.push({ ids, labels });
  }
  return out;
}

/** Runs the plan's forward on one batch and returns each row's log-prob (forward only). */
export async function batchLogps(plan: StepPlan, batch: Batch): Promise<SequenceLogp[]> {
  const { gpu } = plan.model;
  plan.write(plan.encode(batch).data);
  gpu.run(plan.forward);
  const loss = await gpu.readF32(plan.rowLoss.buffer, plan.rowLoss.offset * 4, plan.T);
  return rowLogps(loss, batch.labels, plan.opts.seq);
}

/**
 * A forward-only plan of the model as it is, or, with `adapterOff`, without its LoRA adapter
 * (the programs are recorded without the adapter, so switching it back on does not change them).
 */
export async function forwardPlan(model: Transformer, batch: number, seq: number, adapterOff: boolean): Promise<{ plan: StepPlan; state: StepState }> {
  const state = new StepState(model.gpu);
  const adapter = model.lora;
  if (adapterOff) model.lora = null;
  try {
    return { plan: await StepPlan.build(model, { batch, seq, train: false }, state), state };
  } finally {
    model.lora = adapter;
  }
}

/** Log-probs of every row under a plan, `batch` rows at a time. */
export async function logpsOf(plan: StepPlan, rows: readonly Row[]): Promise<SequenceLogp[]> {
  const out: SequenceLogp[] = [];
  for (const b of rowBatches(rows, plan.opts.batch, plan.opts.seq)) out.push(...(await batchLogps(plan, b)));
  return out.slice(0, rows.length);
}

/**
 * The reference log-probs of rows, computed once before training: with a LoRA adapter, the base
 * model (adapter off); with full fine-tuning, the model before any update (the frozen reference).
 */
export async function referenceLogps(model: Transformer, rows: readonly Row[], batch: number, seq: number): Promise<number[]> {
  const { plan, state } = await forwardPlan(model, batch, seq, model.lora !== null);
  try {
    return (await logpsOf(plan, rows)).map((r) => r.logp);
  } finally {
    plan.destroy();
    state.destroy();
  }
}
