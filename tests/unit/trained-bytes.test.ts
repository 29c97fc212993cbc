import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/model/config.ts';
import { paramSpecs } from '../../src/core/model/layout.ts';
import { estimateTrainingMemory } from '../../src/core/model/memory.ts';
import { planMemory } from '../../src/core/model/memory-plan.ts';
import { PRESETS } from '../../src/core/model/presets.ts';
import { trainedBytes } from '../../src/core/train/trained-count.ts';

const GiB = 2 ** 30;
const cfg = parseConfig(PRESETS['smollm2-135m']!);
const specs = paramSpecs(cfg, [{ start: 0, rows: cfg.vocabSize }]);
const count = (keep: (name: string) => boolean) => specs.filter((s) => keep(s.name)).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
const all = count(() => true);

describe('memory of full runs that train a part of the model', () => {
  it('counts gradients for what trains: the last N layers and the final norm, or every weight for half fine-tuning', () => {
    const last = cfg.layers - 1;
    expect(trainedBytes(cfg, { method: 'full', freeze: { trainLast: 1 } })).toBe(4 * count((n) => n.startsWith(`layers.${last}.`) || n.startsWith('norm.')));
    expect(trainedBytes(cfg, { method: 'full', freeze: { trainModules: ['norm'] } })).toBe(4 * count((n) => /\.ln[12]\.|^norm\./.test(n)));
    // The halves swap between rounds, so every weight keeps its gradient and moments.
    expect(trainedBytes(cfg, { method: 'full', halfFt: { roundSteps: 5 } })).toBe(4 * all);
    expect(trainedBytes(cfg, { method: 'full' })).toBe(4 * all);
    expect(trainedBytes(cfg, { method: 'lora' })).toBeUndefined();
  });

  it('the estimate and the planner use it: freezing all but one layer needs far less than full fine-tuning', () => {
    const shape = { method: 'full', batch: 2, seq: 64, r: 0, loraModules: [], loraDropout: 0, gradCheckpointing: false, validation: false } as const;
    const sum = (p: Record<string, number>) => Object.values(p).reduce((a, b) => a + b, 0);
    const every = estimateTrainingMemory(cfg, { ...shape, trainedBytes: trainedBytes(cfg, { method: 'full' }) });
    const frozen = estimateTrainingMemory(cfg, { ...shape, trainedBytes: trainedBytes(cfg, { method: 'full', freeze: { trainLast: 1 } }) });
    expect(frozen.weights).toBe(every.weights);
    expect(frozen.optimizer).toBe(2 * frozen.gradients);
    expect(sum(every) - sum(frozen)).toBe(3 * (every.gradients - frozen.gradients));
    const fit = (trained?: number) => planMemory({
      cfg, method: 'full', r: 0, loraModules: [], loraDropout: 0, validation: false, lengths: [200], maxSeqLen: 256, batch: 8,
      budget: 2 * GiB, limits: { maxStorageBufferBindingSize: GiB, maxBufferSize: GiB }, trainedBytes: trained,
    });
    // Full fine-tuning of 135M parameters (2 GiB of weights, gradients and moments) does not fit 2 GiB; one trained layer does.
    expect(fit(trainedBytes(cfg, { method: 'full' })).fits).toBe(false);
    const plan = fit(trainedBytes(cfg, { method: 'full', freeze: { trainLast: 1 } }));
    expect(plan.fits).toBe(true);
    expect(plan.parts.gradients).toBe(frozen.gradients);
  });
});
