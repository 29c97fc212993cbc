import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadTransformer } from '../../src/core/model/load.ts';
import { StepPlan } from '../../src/core/model/step-plan.ts';
import { StepState } from '../../src/core/kernels/step-state.ts';
import { runStep } from '../../src/core/train/step.ts';
import { packRows, padRows } from '../../src/core/data/rows.ts';
import { readTensor } from '../../src/core/gpu/tensor.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { relError, testGpu } from './gpu-harness.ts';
import type { Transformer } from '../../src/core/model/transformer.ts';
import type { Row } from '../../src/core/data/rows.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/hf/models/', import.meta.url));

async function logitsOf(model: Transformer, rows: Row[], seq: number): Promise<{ logits: Float32Array; loss: number }> {
  const gpu = model.gpu;
  const step = new StepState(gpu);
  const plan = await StepPlan.build(model, { batch: rows.length, seq, train: false, keepLogits: true }, step);
  const batch = { ids: rows.flatMap((r) => [...r.inputIds]), labels: rows.flatMap((r) => [...r.labels]), segments: rows.flatMap((r) => [...r.segments!]) };
  const { loss } = await runStep(gpu, plan, null, step, [batch], 0, 0).done;
  const V = model.cfg.vocabSize;
  const T = plan.T;
  const out = new Float32Array(T * V);
  for (const c of plan.logits) {
    const part = await readTensor(gpu, { ...c.logits, shape: [T * c.Vc] });
    for (let t = 0; t < T; t++) out.set(part.subarray(t * c.Vc, (t + 1) * c.Vc), t * V + c.v0);
  }
  plan.destroy();
  return { logits: out, loss };
}

describe('packing', () => {
  for (const name of ['tiny-llama', 'tiny-gpt2']) {
    it(`${name}: a packed row gives each example exactly the logits and loss it has alone`, async () => {
      const gpu = await testGpu();
      const model = await loadTransformer(gpu, nodeFileTree(FIXTURES + name));
      const examples = [
        { inputIds: [5, 17, 99, 3, 250, 8, 1], labels: [-100, -100, -100, 3, 250, 8, 1] },
        { inputIds: [44, 45, 46], labels: [-100, 45, 46] },
        { inputIds: [300, 2, 9, 9, 9], labels: [-100, 2, 9, 9, 9] },
      ];
      const seq = 16;
      const packed = packRows(examples, seq, 0);
      expect(packed.length).toBe(1);
      const row = packed[0]!;
      const together = await logitsOf(model, packed, seq);
      const alone = await logitsOf(model, padRows(examples, seq, 0), seq);
      const V = model.cfg.vocabSize;
      // Locate each example inside the packed row by its segment and compare its logits.
      for (const [k, e] of examples.entries()) {
        const start = row.inputIds.findIndex((_, i) => sameAt(row, i, e));
        expect(start, `example ${k} in the packed row`).toBeGreaterThanOrEqual(0);
        const got = together.logits.subarray(start * V, (start + e.inputIds.length) * V);
        const want = alone.logits.subarray(k * seq * V, (k * seq + e.inputIds.length) * V);
        expect(relError(got, want), `example ${k}`).toBeLessThan(1e-5);
      }
      expect(Math.abs(together.loss - alone.loss)).toBeLessThan(1e-5);
      model.destroy();
    });
  }
});

function sameAt(row: Row, i: number, e: { inputIds: number[] }): boolean {
  return e.inputIds.every((id, j) => row.inputIds[i + j] === id) && (i === 0 || row.segments![i - 1] !== row.segments![i]);
}
