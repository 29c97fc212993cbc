/**
 * Trains an adapter gate with its adapters frozen: the model runs the stacked adapters under the
 * gate, the plan's backward fills only the gate's gradients, and AdamW updates only the gate (no
 * moments for the adapters or the base). Also scores rows (mean next-token loss) for comparisons.
 */
import type { Row } from '../data/rows.ts';
import { Rng } from '../rng.ts';
import type { AdapterGate } from '../model/adapter-gate.ts';
import { StepPlan, type Batch } from '../model/step-plan.ts';
import type { Transformer } from '../model/transformer.ts';
import { AdamW, TORCH_ADAMW } from './adamw.ts';
import { runStep, StepState } from './step.ts';

export interface GateTrainOptions {
  readonly steps: number;
  readonly batch: number;
  readonly lr: number;
  readonly weightDecay: number;
  readonly seed: number;
}

/** Rows b·batch … as one micro-batch, in a seeded order that reshuffles every pass. */
function batches(rows: readonly Row[], batch: number, seed: number): () => Batch {
  const rng = new Rng(seed);
  let order: number[] = [];
  return () => {
    const picked: Row[] = [];
    while (picked.length < batch) {
      if (order.length === 0) {
        order = rows.map((_, i) => i);
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(rng.next() * (i + 1));
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
      }
      picked.push(rows[order.pop()!]!);
    }
    const segments = picked.flatMap((r, i) => r.segments ?? r.inputIds.map(() => i));
    const lengths = picked.map((r) => r.tokens ?? r.inputIds.length);
    return { ids: picked.flatMap((r) => r.inputIds), labels: picked.flatMap((r) => r.labels), segments, lengths };
  };
}

/** Trains `gate` (attached to `model`) on rows of `seq` tokens; returns each step's loss. */
export async function trainGate(
  model: Transformer, gate: AdapterGate, rows: readonly Row[], seq: number, o: GateTrainOptions, onStep?: (step: number, loss: number) => void,
): Promise<number[]> {
  if (model.gate !== gate) throw new Error('attach the gate to the model before training it');
  if (rows.length === 0) throw new Error('the training set is empty');
  const gpu = model.gpu;
  const step = new StepState(gpu);
  const plan = await StepPlan.build(model, { batch: o.batch, seq, train: true }, step);
  const opt = await AdamW.create(gpu, gate.params, gate.grads, { ...TORCH_ADAMW, weightDecay: o.weightDecay }, step, true);
  const next = batches(rows, o.batch, o.seed);
  const losses: number[] = [];
  try {
    for (let s = 0; s < o.steps; s++) {
      const r = await runStep(gpu, plan, opt, step, [next()], o.lr, o.seed + s).done;
      if (!Number.isFinite(r.loss)) throw new Error(`the loss is ${r.loss} at step ${s + 1}; lower --lr`);
      losses.push(r.loss);
      onStep?.(s + 1, r.loss);
    }
  } finally {
    opt.destroy();
    plan.destroy();
    step.destroy();
  }
  return losses;
}

/** Mean next-token loss over every target token of the rows, with whatever the model carries now. */
export async function meanLoss(model: Transformer, rows: readonly Row[], seq: number): Promise<number> {
  const step = new StepState(model.gpu);
  const plan = await StepPlan.build(model, { batch: 1, seq, train: false }, step);
  let sum = 0;
  let n = 0;
  try {
    for (const r of rows) {
      const res = await runStep(model.gpu, plan, null, step, [{ ids: r.inputIds, labels: r.labels, segments: r.segments }], 0, 0).done;
      if (res.targets === 0) continue;
      sum += res.loss * res.targets;
      n += res.targets;
    }
  } finally {
    plan.destroy();
    step.destroy();
  }
  return n ? sum / n : NaN;
}
