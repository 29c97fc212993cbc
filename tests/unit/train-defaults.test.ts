import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { inspectModel } from '../../src/core/model/load.ts';
import { defaultEpochs, defaultLearningRate, defaultTrainConfig, modelParameters } from '../../src/core/train/defaults.ts';
import { suggest, type LrPoint } from '../../src/core/train/lr-finder.ts';
import { nodeFileTree } from '../../src/platform/node-files.ts';

const model = (name: string) => fileURLToPath(new URL(`../${name}`, import.meta.url));

describe('default training settings', () => {
  it('count a model\'s weights from its config as the checkpoint holds them', async () => {
    for (const dir of [model('../public/models/demo-base'), model('fixtures/hf/models/tiny-llama'), model('fixtures/hf/models/tiny-gpt2')]) {
      const { cfg, st } = await inspectModel(nodeFileTree(dir));
      const stored = st.names().reduce((n, name) => n + st.info(name)!.shape.reduce((a, b) => a * b, 1), 0);
      // Norm weights and biases are not counted: under 2% of these small models.
      expect(Math.abs(modelParameters(cfg) - stored) / stored, dir).toBeLessThan(0.02);
    }
  });

  it('follow the peers\' LoRA rates at 1B and above and grow, capped, for small models', () => {
    expect(defaultLearningRate(1e9, 'lora')).toBe(2e-4);
    expect(defaultLearningRate(7e9, 'lora')).toBe(1e-4);
    expect(defaultLearningRate(70e9, 'lora')).toBe(1e-4);
    expect(defaultLearningRate(135e6, 'lora')).toBe(3e-4);
    expect(defaultLearningRate(5.5e6, 'lora')).toBe(7e-4);
    expect(defaultLearningRate(5e4, 'lora')).toBe(1e-3);
    expect(defaultLearningRate(135e6, 'full')).toBe(3e-5);
    for (let p = 1e4; p < 1e11; p *= 3) expect(defaultLearningRate(p * 3, 'lora')).toBeLessThanOrEqual(defaultLearningRate(p, 'lora'));
  });

  it('warm up over a tenth of the run, clip at 1 and give small datasets more epochs', () => {
    expect([defaultEpochs(50), defaultEpochs(600), defaultEpochs(50_000)]).toEqual([3, 2, 1]);
    const { config, reason } = defaultTrainConfig({ parameters: 5_475_584 }, { examples: 573 });
    expect(config).toMatchObject({ method: 'lora', lr: 7e-4, schedule: 'cosine', batch: 4, epochs: 2, clip: 1, warmup: 29 });
    expect(config.lora).toMatchObject({ r: 16, alpha: 32, targets: 'all-linear' });
    expect(reason).toBe('LoRA lr 0.0007 for a 5.5M-parameter model (about 2e-4 at 1B, larger for smaller models), warmup 29 of 288 steps, clipping at 1, 2 epochs over 573 examples');
    expect(defaultTrainConfig({ parameters: 1e6 }, { examples: 1 }).config.warmup).toBe(0);
    expect(defaultTrainConfig({ parameters: 1e6 }, { examples: 20 }).config.warmup).toBe(2);
  });
});

describe('the learning-rate range test\'s suggestion', () => {
  const curve = (f: (logLr: number) => number): LrPoint[] =>
    Array.from({ length: 31 }, (_, i) => ({ step: i + 1, lr: 10 ** (-6 + i / 5), loss: f(-6 + i / 5), smoothed: f(-6 + i / 5) }));

  it('is a tenth of the rate with the lowest loss; steepest is where the loss falls fastest', () => {
    // Flat, falling fastest at 1e-3, then rising past 1e-2: the lowest loss lies in between.
    const r = suggest(curve((x) => 5 - 2 / (1 + Math.exp(-4 * (x + 3))) + 0.5 * Math.max(0, x + 2) ** 2));
    expect(r.minimum).toBeGreaterThanOrEqual(0.99e-2);
    expect(r.minimum).toBeLessThan(1e-1);
    expect(r.suggested).toBeCloseTo(r.minimum / 10, 12);
    expect(Math.log10(r.steepest!)).toBeCloseTo(-3, 0);
  });

  it('has no steepest point when the loss never falls', () => {
    const r = suggest(curve((x) => 4 + x + 6));
    expect(r.minimum).toBeCloseTo(1e-6, 12);
    expect(r.steepest).toBeNull();
  });
});
