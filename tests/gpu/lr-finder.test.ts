import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadTransformer } from '../../src/core/model/load.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { resolveTargets } from '../../src/core/formats/peft.ts';
import { Rng } from '../../src/core/rng.ts';
import { trainConfig } from '../../src/core/train/config.ts';
import { findLearningRate } from '../../src/core/train/lr-finder.ts';
import type { Row } from '../../src/core/data/rows.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { testGpu } from './gpu-harness.ts';

const DIR = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));
const S = 16;

/** A learnable toy language: token t+1 follows t. */
function rows(n: number): Row[] {
  const rng = new Rng(3);
  return Array.from({ length: n }, () => {
    const start = 10 + rng.int(200);
    const ids = Array.from({ length: S }, (_, i) => start + i);
    return { inputIds: ids, labels: ids.map((id, i) => (i < 2 ? -100 : id)) };
  });
}

async function withAdapter() {
  const gpu = await testGpu();
  const model = await loadTransformer(gpu, nodeFileTree(DIR));
  model.lora = LoraAdapter.create(gpu, model.cfg, { r: 4, alpha: 8, dropout: 0, rslora: false, targets: resolveTargets('llama', 'all-linear') }, 5);
  const read = () => Promise.all(model.lora!.store.lengths.map((n, i) => gpu.readF32(model.lora!.store.buffers[i]!, 0, n)));
  return { model, read };
}

const config = trainConfig({ batch: 2, seed: 11, clip: 1, lora: { r: 4, alpha: 8, dropout: 0 } });

describe('the learning-rate range test', () => {
  it('sweeps exponentially, stops when the loss blows up, suggests a rate below the best one and restores the adapter', async () => {
    const { model, read } = await withAdapter();
    const before = await read();
    // A random tiny model's loss stays near ln(512) however wild the weights, so it never reaches
    // 4x its best; a 5% rise past the best is this model's divergence.
    const r = await findLearningRate(model, { config, seq: S, train: rows(24), minLr: 1e-5, maxLr: 1e3, steps: 40, divergence: 1.05 });
    const ratio = (1e3 / 1e-5) ** (1 / 39);
    expect(r.points[0]!.lr).toBeCloseTo(1e-5, 12);
    r.points.slice(1).forEach((p, i) => expect(p.lr / r.points[i]!.lr).toBeCloseTo(ratio, 6));
    expect(r.stopped).toBe('diverged');
    expect(r.points.length).toBeLessThan(40);
    const lowest = Math.min(...r.points.map((p) => p.smoothed));
    expect(lowest).toBeLessThan(0.9 * r.points[0]!.smoothed);
    expect(r.points.find((p) => p.smoothed === lowest)!.lr).toBe(r.minimum);
    expect(r.suggested).toBeCloseTo(r.minimum / 10, 15);
    expect(r.steepest).not.toBeNull();
    expect(r.steepest!).toBeLessThanOrEqual(r.minimum);
    const after = await read();
    after.forEach((a, i) => expect(Array.from(a)).toEqual(Array.from(before[i]!)));
    model.destroy();
  });

  it('runs every step when the rates stay small, and needs an adapter for LoRA', async () => {
    const { model } = await withAdapter();
    const r = await findLearningRate(model, { config, seq: S, train: rows(8), minLr: 1e-6, maxLr: 1e-4, steps: 6 });
    expect(r.points.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.stopped).toBeNull();
    model.lora!.destroy();
    model.lora = null;
    await expect(findLearningRate(model, { config, seq: S, train: rows(8), steps: 6 })).rejects.toThrow(/LoRA adapter/);
    await expect(findLearningRate(model, { config, seq: S, train: rows(8), minLr: 1, maxLr: 0.1 })).rejects.toThrow(/min lr < max lr/);
    model.destroy();
  });
});
