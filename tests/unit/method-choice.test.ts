import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_METHOD_FIELDS, effectiveChoice, methodConfig, methodProblems, METHODS } from '../../src/app/lib/method-choice.ts';
import { linearModules, resolveTargets } from '../../src/core/formats/peft.ts';
import { parseConfig, type ModelConfig } from '../../src/core/model/config.ts';
import { paramSpecs, vocabChunks } from '../../src/core/model/layout.ts';
import { LoraAdapter } from '../../src/core/model/lora.ts';
import { METHOD_CHOICES, methodMemory, type MethodModelShape } from '../../src/core/model/method-memory.ts';
import { trainConfig } from '../../src/core/train/config.ts';
import { trainsParameter } from '../../src/core/train/freeze.ts';
import { halfFtScale } from '../../src/core/train/half-ft.ts';

const cfg: ModelConfig = parseConfig(JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/hf/models/tiny-llama/config.json', import.meta.url)), 'utf8')));
const specs = paramSpecs(cfg, vocabChunks(cfg.vocabSize, cfg.hidden, Infinity));
const size = (s: { shape: readonly number[] }) => s.shape.reduce((a, b) => a * b, 1);
const shape: MethodModelShape = {
  parameters: specs.reduce((n, s) => n + size(s), 0), layers: cfg.layers, hidden: cfg.hidden,
  linearModules: linearModules(cfg.arch).map((m) => ({ id: m.id, ...m.features(cfg) })),
};
const form = (choice: (typeof METHOD_CHOICES)[number]) =>
  ({ ...DEFAULT_METHOD_FIELDS, choice, method: ['freeze', 'half', 'full'].includes(choice) ? 'full' as const : 'lora' as const });

describe('the app\'s method choices', () => {
  it('each choice is a TrainConfig with the fields `tabtune train` sets from its flags', () => {
    expect(METHODS.map((m) => m.id)).toEqual([...METHOD_CHOICES]);
    const c = Object.fromEntries(METHOD_CHOICES.map((k) => [k, trainConfig(methodConfig(form(k)))]));
    expect(c.lora).toMatchObject({ method: 'lora', lora: { rslora: false } });
    expect(c.lora!.lora.dora).toBeUndefined();
    expect(c.rslora!.lora.rslora).toBe(true);
    expect(c.dora!.lora.dora).toBe(true);
    expect(c.loraplus!.loraplusLrRatio).toBe(16);
    expect(c.pissa!.lora.init).toBe('pissa_niter_4');
    expect(c.freeze).toMatchObject({ method: 'full', freeze: { trainLast: 1 } });
    expect(c.half).toMatchObject({ method: 'full', halfFt: { roundSteps: 10 } });
    expect(c.full!.method).toBe('full');
    expect(c.full!.freeze ?? c.full!.halfFt).toBeUndefined();
  });

  it('a method set elsewhere (an imported adapter sets LoRA) wins over a stale choice', () => {
    expect(effectiveChoice({ ...form('freeze'), method: 'lora' })).toBe('lora');
    expect(effectiveChoice({ ...form('dora'), method: 'full' })).toBe('full');
    expect(methodConfig({ ...form('half'), method: 'lora' }).method).toBe('lora');
  });

  it('refuses method fields that cannot run, in words', () => {
    expect(methodProblems({ ...form('freeze'), trainLast: 3 }, 2)).toEqual(['Layers to train must be a whole number from 1 to 2']);
    expect(methodProblems({ ...form('loraplus'), loraplusRatio: 0 }, 2)).toEqual(['The LoRA+ ratio must be above 0']);
    expect(methodProblems({ ...form('half'), halfRoundSteps: 1.5 }, 2)).toEqual(['Steps per half must be a whole number above 0']);
    expect(methodProblems(form('freeze'), 2)).toEqual([]);
  });
});

describe('memory each method adds', () => {
  const targets = resolveTargets(cfg.arch, ['q_proj', 'v_proj', 'down_proj']);
  const s = { r: 4, targets, trainLast: 1 };
  const layoutCount = (dora: boolean) =>
    LoraAdapter.layout(cfg, { r: 4, alpha: 8, dropout: 0, rslora: false, targets, dora }).specs.reduce((n, x) => n + size(x), 0);

  it('adapter methods: the adapter\'s own parameter count (DoRA adds the magnitudes); adapter, gradients and two moments', () => {
    for (const c of ['lora', 'rslora', 'loraplus', 'pissa'] as const) expect(methodMemory(shape, c, s)).toEqual({ trainable: layoutCount(false), bytes: 16 * layoutCount(false) });
    expect(methodMemory(shape, 'dora', s).trainable).toBe(layoutCount(true));
    expect(layoutCount(true)).toBeGreaterThan(layoutCount(false));
  });

  it('freeze and half fine-tuning: exactly the weights the trainer trains; gradients and two moments for them only', () => {
    const count = (keep: (name: string) => boolean) => specs.filter((x) => keep(x.name)).reduce((n, x) => n + size(x), 0);
    const frozen = count(trainsParameter(cfg, { trainLast: 1 }));
    expect(methodMemory(shape, 'freeze', s)).toEqual({ trainable: frozen, bytes: 12 * frozen });
    const half = count((name) => halfFtScale(cfg, 42, 0)(name) > 0);
    expect(methodMemory(shape, 'half', s).trainable).toBe(half);
    expect(methodMemory(shape, 'full', s)).toEqual({ trainable: shape.parameters, bytes: 12 * shape.parameters });
    expect(half).toBeLessThan(shape.parameters);
  });
});
