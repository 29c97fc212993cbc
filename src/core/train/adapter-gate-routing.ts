/**
 * Where a gate sent an answer: one forward pass over prompt + answer with the gate's per-layer
 * weights copied out (AdapterGate.probe), averaged per adapter over the answer's positions and
 * the layers. The positions are the ones whose outputs chose the answer's tokens (the last prompt
 * token up to the answer's second-to-last), so the figure is the mixture each token was drawn under.
 */
import { tensorOf } from '../gpu/tensor.ts';
import type { AdapterGate } from '../model/adapter-gate.ts';
import { StepPlan } from '../model/step-plan.ts';
import type { Transformer } from '../model/transformer.ts';
import { runStep, StepState } from './step.ts';

/** Mean gate weight of each adapter (in gate order; they sum to 1) while `answer` followed `prompt`. */
export async function gateRouting(model: Transformer, gate: AdapterGate, prompt: readonly number[], answer: readonly number[]): Promise<number[]> {
  if (model.gate !== gate) throw new Error('attach the gate to the model before reading its routing');
  if (prompt.length === 0 || answer.length === 0) return gate.names.map(() => 1 / gate.K);
  const ids = [...prompt, ...answer.slice(0, -1)];
  const from = prompt.length - 1;
  const { gpu } = model;
  const T = ids.length;
  const L = model.cfg.layers;
  const K = gate.K;
  const probe = gpu.pool.acquire(L * T * K * 4, 'activations', 'gate-probe');
  const step = new StepState(gpu);
  let plan: StepPlan | null = null;
  try {
    gate.probe = tensorOf(probe, [L * T * K]);
    try {
      plan = await StepPlan.build(model, { batch: 1, seq: T, train: false }, step);
    } finally {
      gate.probe = null;
    }
    await runStep(gpu, plan, null, step, [{ ids, labels: ids.map(() => -100) }], 0, 0).done;
    const g = await gpu.readF32(probe, 0, L * T * K);
    const sums = new Array<number>(K).fill(0);
    for (let l = 0; l < L; l++) for (let t = from; t < T; t++) for (let k = 0; k < K; k++) sums[k]! += g[(l * T + t) * K + k]!;
    const n = L * (T - from);
    return sums.map((s) => s / n);
  } finally {
    plan?.destroy();
    step.destroy();
    gpu.pool.release(probe);
  }
}
