import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { Row } from '../../src/core/data/rows.ts';
import { loadTransformer } from '../../src/core/model/load.ts';
import type { ParamStore } from '../../src/core/model/param-store.ts';
import { trainConfig } from '../../src/core/train/config.ts';
import { trainsParameter, type FreezeOptions } from '../../src/core/train/freeze.ts';
import { halfFtScale } from '../../src/core/train/half-ft.ts';
import { trainedParameters } from '../../src/core/train/trained-count.ts';
import { Trainer } from '../../src/core/train/trainer.ts';
import { Rng } from '../../src/core/rng.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';
import { testGpu } from './gpu-harness.ts';

const DIR = fileURLToPath(new URL('../fixtures/hf/models/tiny-llama', import.meta.url));
const S = 12;

function rows(n: number): Row[] {
  const rng = new Rng(4);
  return Array.from({ length: n }, () => {
    const start = 10 + rng.int(200);
    const ids = Array.from({ length: S }, (_, i) => start + i);
    return { inputIds: ids, labels: ids };
  });
}

async function values(store: ParamStore, read: (b: GPUBuffer, n: number) => Promise<Float32Array>): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const name of store.names) {
    const t = store.get(name);
    const n = t.shape.reduce((a, b) => a * b, 1);
    out.set(name, (await read(t.buffer, t.offset * 4 + n * 4)).slice(t.offset, t.offset + n));
  }
  return out;
}

const CASES: [string, FreezeOptions, (name: string) => boolean][] = [
  ['--train-last 1', { trainLast: 1 }, (n) => n.startsWith('layers.1.') || n.startsWith('norm.')],
  ['--freeze-layers 0 --train-modules mlp,norm', { freezeLayers: [0], trainModules: ['mlp', 'norm'] }, (n) => /^layers\.1\.(up|down|ln1|ln2)\./.test(n) || n.startsWith('norm.')],
];

describe('freezing in full fine-tuning', () => {
  for (const [label, freeze, expected] of CASES) {
    it(`${label}: untouched parameters stay bit-identical, Adam state only for what trains`, async () => {
      const gpu = await testGpu();
      const model = await loadTransformer(gpu, nodeFileTree(DIR));
      const read = (b: GPUBuffer, bytes: number) => gpu.readF32(b, 0, bytes / 4);
      const before = await values(model.weights.store, read);
      const trains = trainsParameter(model.cfg, freeze);
      for (const name of before.keys()) expect(trains(name), name).toBe(expected(name));
      const config = trainConfig({ method: 'full', steps: 3, batch: 2, lr: 1e-2, schedule: 'constant', weightDecay: 0.1, seed: 3, freeze });
      const trainer = await Trainer.create({ model, config, seq: S, train: rows(6) });
      const summary = await trainer.run();
      expect(summary.state).toBe('finished');
      const trainedCount = model.weights.store.names.filter(trains).reduce((n, name) => n + model.weights.store.get(name).shape.reduce((a, b) => a * b, 1), 0);
      expect(trainedParameters(model.cfg, model.weights.store, config)).toMatchObject({ trained: trainedCount, adamBytes: 8 * trainedCount });
      const opt = (trainer as unknown as { opt: { m: ParamStore } }).opt;
      // Moments for the trained tensors only (plus alignment gaps between neighbours).
      expect(opt.m.count).toBeGreaterThanOrEqual(trainedCount);
      expect(opt.m.count).toBeLessThan(trainedCount + 64 * model.weights.store.names.length);
      expect(opt.m.count).toBeLessThan(model.weights.store.count / 2);
      const after = await values(model.weights.store, read);
      let frozen = 0;
      for (const [name, v] of before) {
        const now = after.get(name)!;
        if (trains(name)) {
          expect(now.some((x, i) => x !== v[i]), `${name} trained`).toBe(true);
        } else {
          expect(Buffer.from(now.buffer).equals(Buffer.from(v.buffer)), `${name} bit-identical`).toBe(true);
          frozen++;
        }
      }
      expect(frozen).toBeGreaterThan(0);
      trainer.destroy();
      model.destroy();
    });
  }

  it('half fine-tuning: a round trains its seeded half only; the next round trains the complement', async () => {
    const gpu = await testGpu();
    const read = (b: GPUBuffer, bytes: number) => gpu.readF32(b, 0, bytes / 4);
    const run = async (steps: number) => {
      const model = await loadTransformer(gpu, nodeFileTree(DIR));
      const before = await values(model.weights.store, read);
      const config = trainConfig({ method: 'full', steps, batch: 2, lr: 1e-2, schedule: 'constant', seed: 11, halfFt: { roundSteps: 2 } });
      const trainer = await Trainer.create({ model, config, seq: S, train: rows(8) });
      expect((await trainer.run()).state).toBe('finished');
      const after = await values(model.weights.store, read);
      const changed = new Set([...before].filter(([n, v]) => !Buffer.from(after.get(n)!.buffer).equals(Buffer.from(v.buffer))).map(([n]) => n));
      trainer.destroy();
      const cfg = model.cfg;
      model.destroy();
      return { changed, names: [...before.keys()], cfg };
    };
    const one = await run(2);
    const first = halfFtScale(one.cfg, 11, 0);
    const second = halfFtScale(one.cfg, 11, 1);
    const decoder = one.names.filter((n) => /^layers\.\d+\.(qkv|o|up|down|ln1|ln2)\./.test(n));
    for (const n of decoder) expect(first(n) + second(n), n).toBe(1);
    expect(decoder.filter((n) => first(n) > 0).length).toBe(decoder.length / 2);
    expect([...one.changed].sort()).toEqual(one.names.filter((n) => first(n) > 0).sort());
    const two = await run(4);
    expect([...two.changed].sort()).toEqual([...decoder].sort());
  });

  it('refuses settings outside the model', async () => {
    const model = await loadTransformer(await testGpu(), nodeFileTree(DIR));
    expect(() => trainsParameter(model.cfg, { trainLast: 3 })).toThrow(/train-last must be between 1 and the model's 2 layers/);
    expect(() => trainsParameter(model.cfg, { freezeLayers: [2] })).toThrow(/layer 2 is not in 0..1/);
    expect(() => trainsParameter(model.cfg, { trainModules: ['q_proj'] })).toThrow(/"q_proj" is not one of/);
    model.destroy();
  });
});
