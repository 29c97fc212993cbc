import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import type { Transformer } from '../../src/core/model/transformer.ts';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import { memoryTree } from '../../src/core/formats/bytes.ts';
import { writeSafetensors } from '../../src/core/formats/safetensors.ts';
import { scoreSequences } from '../../src/core/eval/likelihood.ts';
import { Tokenizer } from '../../src/core/formats/tokenizer/tokenizer.ts';
import { parseDataset } from '../../src/core/data/import.ts';
import { tokenizeRecords, type Example } from '../../src/core/data/tokenize.ts';
import { packRows, type Row } from '../../src/core/data/rows.ts';
import { Trainer } from '../../src/core/train/trainer.ts';
import { demoTrainConfig, DEMO_TASK } from '../../src/core/train/demo-run.ts';
import type { TrainConfig } from '../../src/core/train/config.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { testGpu } from './gpu-harness.ts';

const DEMO = fileURLToPath(new URL('../../public/models/demo-base', import.meta.url));
/** Short rows keep these runs small on a software GPU. */
const SEQ = 64;
const data = (name: string) => fileURLToPath(new URL(`../../public/datasets/${name}.jsonl`, import.meta.url));

async function examples(name: string, count: number): Promise<Example[]> {
  const tok = await Tokenizer.fromTree(nodeFileTree(DEMO));
  const { records } = parseDataset(name, readFileSync(data(name)));
  return tokenizeRecords(records, tok, { maxLength: SEQ, maskPrompt: true }).examples.slice(0, count);
}

/** Trains a fresh LoRA adapter (seeded) on `rows`; returns each step's loss and gradient norm. */
async function trainLora(model: Transformer, config: TrainConfig, rows: Row[]): Promise<{ loss: number; gradNorm: number }[]> {
  model.lora = LoraAdapter.create(model.gpu, model.cfg, { ...config.lora, targets: resolveTargets(model.cfg.arch, 'all-linear') }, config.seed);
  const trainer = await Trainer.create({ model, config, seq: SEQ, train: rows });
  try {
    const s = await trainer.run();
    return s.history.flatMap((e) => (e.type === 'step' ? [{ loss: e.loss, gradNorm: e.gradNorm }] : []));
  } finally {
    trainer.destroy();
  }
}

const bytesOf = (m: Transformer) => m.weights.store.buffers.reduce((a, b) => a + b.size, 0);

describe('an NF4 base (group size 64, dequantised in the matmul)', () => {
  it('trains LoRA exactly like an f32 model that holds the dequantised weights (forward and backward)', async () => {
    const gpu = await testGpu();
    const q = await loadTransformer(gpu, nodeFileTree(DEMO), undefined, { quant: 'int4' });
    expect(q.weights.quant).toBe('int4');
    expect(() => q.setTrainable('full')).toThrow(/int4 base trains with LoRA only/);
    // The reference: the same dequantised values as a plain f32 checkpoint, through the f32 kernels.
    const tensors = [...(await q.weights.readHf())].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: [...t.shape], data: t.data }));
    const tree = memoryTree('dequantised', { 'config.json': readFileSync(`${DEMO}/config.json`), 'model.safetensors': writeSafetensors(tensors) });
    const ref = await loadTransformer(gpu, tree);
    const rows = packRows(await examples('demo-grounded-qa', 8), SEQ, 0);
    const config = { ...demoTrainConfig({ steps: 3, lr: DEMO_TASK.lr, r: 8 }), batch: 1 };
    const got = await trainLora(q, config, rows);
    const want = await trainLora(ref, config, rows);
    console.log(`NF4 vs dequantised f32, per step: ${got.map((s, i) => `${s.loss.toFixed(5)}/${want[i]!.loss.toFixed(5)}`).join(', ')}`);
    expect(got).toHaveLength(3);
    for (const [i, s] of got.entries()) {
      expect(Math.abs(s.loss - want[i]!.loss) / want[i]!.loss).toBeLessThan(1e-4);
      expect(Math.abs(s.gradNorm - want[i]!.gradNorm) / want[i]!.gradNorm).toBeLessThan(1e-3);
    }
    q.destroy();
    ref.destroy();
  }, 600_000);

  // The base's own held-out loss moves under 1%. After a short LoRA run the two trajectories differ
  // by more than the base does (NF4 6.7% lower after these 10 steps, deterministic here; 4-7% lower
  // for seeds 42-44, while NF4's error added to f32 in shuffled positions moved them by -3% to +15%:
  // this run amplifies any change to the base). The bound below is for that short run (README).
  it('keeps the demo model\'s held-out loss within 1% of f32, learns the demo task as well, in under a third of the memory', async () => {
    const gpu = await testGpu();
    const train = packRows(await examples('demo-grounded-qa', 64), SEQ, 0);
    const held = await examples('demo-grounded-qa-eval', 20);
    const config = { ...demoTrainConfig({ steps: 10, lr: DEMO_TASK.lr, r: DEMO_TASK.r }), batch: 2 };
    const result: Record<string, { before: number; after: number; final: number; bytes: number }> = {};
    for (const quant of ['none', 'int4'] as const) {
      const m = await loadTransformer(gpu, nodeFileTree(DEMO), undefined, { quant });
      const before = (await scoreSequences(m, held)).loss;
      const steps = await trainLora(m, config, train);
      result[quant] = { before, after: (await scoreSequences(m, held)).loss, final: steps.at(-1)!.loss, bytes: bytesOf(m) };
      m.destroy();
    }
    const [f, q] = [result.none!, result.int4!];
    const pct = (a: number, b: number) => `${(100 * (a / b - 1)).toFixed(2)}%`;
    console.log(
      `demo task, 10 LoRA steps of 2x64 tokens: held-out loss before f32 ${f.before.toFixed(4)} / NF4 ${q.before.toFixed(4)} (${pct(q.before, f.before)}), ` +
        `after f32 ${f.after.toFixed(4)} / NF4 ${q.after.toFixed(4)} (${pct(q.after, f.after)}); ` +
        `weights ${(f.bytes / 2 ** 20).toFixed(2)} → ${(q.bytes / 2 ** 20).toFixed(2)} MiB`,
    );
    expect(Math.abs(q.before - f.before) / f.before).toBeLessThan(0.01);
    expect(q.after).toBeLessThan(0.5 * q.before);
    expect(Math.abs(q.after - f.after) / f.after).toBeLessThan(0.1);
    expect(q.bytes).toBeLessThan(f.bytes / 3);
  }, 900_000);
});
