/** One step of a model on a batch of B rows of S tokens: the loss, and the logits [B·S, V] unless it trains. */
import { readTensor } from '../../src/core/gpu/tensor.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { StepPlan } from '../../src/core/model/step-plan.ts';
import type { Transformer } from '../../src/core/model/transformer.ts';
import { runStep } from '../../src/core/train/step.ts';

export async function forwardStep(model: Transformer, ids: number[], labels: number[], B: number, S: number, train = false) {
  const gpu = model.gpu;
  const step = new StepState(gpu);
  const plan = await StepPlan.build(model, { batch: B, seq: S, train, keepLogits: !train }, step);
  const { loss } = await runStep(gpu, plan, null, step, [{ ids, labels }], 0, 0).done;
  const V = model.cfg.vocabSize;
  const logits = new Float32Array(train ? 0 : B * S * V);
  if (!train) {
    for (const c of plan.logits) {
      const part = await readTensor(gpu, { ...c.logits, shape: [B * S * c.Vc] });
      for (let t = 0; t < B * S; t++) logits.set(part.subarray(t * c.Vc, (t + 1) * c.Vc), t * V + c.v0);
    }
  }
  plan.destroy();
  step.destroy();
  return { loss, logits };
}
