import { describe, expect, it } from 'vitest';
import { options, parseArgs } from '../../src/cli/args.ts';
import { configFrom, spec } from '../../src/cli/commands/train.ts';
import { defaultTrainConfig, runSteps } from '../../src/core/train/defaults.ts';

const rule = defaultTrainConfig({ parameters: 5.5e6 }, { examples: 573 });
const warmup = (...argv: string[]) => configFrom(options(spec, parseArgs(spec, argv)), 'lora', rule).warmup;

describe('the default warmup follows the run the flags set', () => {
  it('is a tenth of the steps the run will take, not of the steps the size rule assumed', () => {
    // The rule: batch 4, 2 epochs over 573 examples = 288 steps.
    expect(rule.config.warmup).toBe(29);
    expect(warmup()).toBe(29);
    expect(warmup('--steps', '20')).toBe(2);
    expect(warmup('--steps', '3')).toBe(0);
    expect(warmup('--batch', '8')).toBe(14);
    expect(warmup('--grad-accum', '4')).toBe(7);
    expect(warmup('--epochs', '1')).toBe(14);
    expect(warmup('--steps', '1000', '--batch', '1')).toBe(100);
    // Given, it is kept as it is.
    expect(warmup('--steps', '20', '--warmup', '7')).toBe(7);
  });

  it('counts steps as the trainer does: whole micro-batch groups per epoch, epochs rounded', () => {
    expect(runSteps(573, { batch: 4, gradAccum: 1, epochs: 2 })).toBe(288);
    expect(runSteps(573, { batch: 4, gradAccum: 1, epochs: 1.5 })).toBe(216);
    expect(runSteps(3, { batch: 4, gradAccum: 2, epochs: 0.1 })).toBe(1);
    expect(runSteps(573, { steps: 9, batch: 4, gradAccum: 1, epochs: 2 })).toBe(9);
  });
});
