import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/model/config.ts';
import { PRESETS } from '../../src/core/model/presets.ts';
import { linearModules, resolveTargets } from '../../src/core/formats/peft.ts';
import { estimateTrainingMemory } from '../../src/core/model/memory.ts';
import { planMemory, type FitRequest } from '../../src/core/model/memory-plan.ts';

const GiB = 2 ** 30;
const cfg = parseConfig(PRESETS['qwen2.5-0.5b']);
const modules = linearModules(cfg.arch).filter((m) => resolveTargets(cfg.arch, 'all-linear').includes(m.id)).map((m) => m.features(cfg));
const limits = { maxStorageBufferBindingSize: 1 * GiB, maxBufferSize: 1 * GiB };
const lengths = Array.from({ length: 200 }, (_, i) => 40 + ((i * 37) % 400));
const req = (o: Partial<FitRequest>): FitRequest => ({
  cfg, method: 'lora', r: 16, loraModules: modules, loraDropout: 0, validation: false, lengths, maxSeqLen: 2048, batch: 8, budget: 64 * GiB, limits, ...o,
});
const total = (p: Record<string, number>) => Object.values(p).reduce((a, b) => a + b, 0);

describe('memory planner', () => {
  it('keeps everything as asked when the device has room', () => {
    const p = planMemory(req({}));
    expect(p).toMatchObject({ fits: true, batch: 8, gradAccum: 1, seq: 440, gradCheckpointing: false, quant: 'none', truncated: 0, precision: 'f32' });
    expect(p.reasons.join('\n')).toMatch(/every example fits whole/);
  });

  it('gives up speed, then the f32 base, then whole rows, in that order, as the budget shrinks', () => {
    const seen: string[] = [];
    for (const gib of [64, 8, 4, 3, 2, 1.5, 1.2, 1.1]) {
      const p = planMemory(req({ budget: gib * GiB }));
      expect(p.fits).toBe(true);
      expect(p.estimate).toBeLessThanOrEqual(0.95 * gib * GiB);
      expect(p.batch * p.gradAccum).toBeGreaterThanOrEqual(8);
      // The plan's estimate is the memory estimate of the shape it chose.
      const shape = { method: 'lora' as const, batch: p.batch, seq: p.seq, r: 16, loraModules: modules, loraDropout: 0, gradCheckpointing: p.gradCheckpointing, validation: false, quant: p.quant };
      expect(p.estimate).toBe(total(estimateTrainingMemory(cfg, shape)));
      seen.push(`${p.quant}/${p.gradCheckpointing ? 'rc' : '-'}/b${p.batch}/s${p.seq}`);
    }
    console.log(`qwen2.5-0.5b plans from 64 GiB down to 1.1 GiB: ${seen.join(', ')}`);
    const ps = [64, 8, 4, 3, 2, 1.5, 1.2, 1.1].map((gib) => planMemory(req({ budget: gib * GiB })));
    const order = { none: 0, int8: 1, int4: 2 };
    for (let i = 1; i < ps.length; i++) {
      // A smaller budget never gets a longer row or a less quantised base.
      expect(ps[i]!.seq).toBeLessThanOrEqual(ps[i - 1]!.seq);
      if (ps[i]!.seq === ps[i - 1]!.seq) expect(order[ps[i]!.quant]).toBeGreaterThanOrEqual(order[ps[i - 1]!.quant]);
    }
    expect(ps.at(-1)!.quant).toBe('int4');
    expect(ps.some((p) => p.gradCheckpointing)).toBe(true);
    expect(ps.some((p) => p.batch < 8)).toBe(true);
  });

  it('cuts rows only when nothing else fits, and says how many examples are cut', () => {
    const p = planMemory(req({ budget: 0.9 * GiB }));
    expect(p.fits).toBe(true);
    expect(p.quant).toBe('int4');
    expect(p.seq).toBeLessThan(440);
    expect(p.truncated).toBe(lengths.filter((n) => n > p.seq).length);
    expect(p.reasons.join('\n')).toMatch(new RegExp(`${p.truncated} of 200 examples are cut`));
  });

  it('respects the binding limit, not only the budget', () => {
    const p = planMemory(req({ limits: { maxStorageBufferBindingSize: 128 << 20, maxBufferSize: 256 << 20 } }));
    expect(p.fits).toBe(true);
    expect(p.largestBuffer).toBeLessThanOrEqual(128 << 20);
    expect(p.batch).toBeLessThan(8);
  });

  it('never quantises a full fine-tune and says when nothing fits', () => {
    const p = planMemory(req({ method: 'full', budget: 0.5 * GiB }));
    expect(p.fits).toBe(false);
    expect(p.quant).toBe('none');
    expect(p.reasons[0]).toMatch(/nothing fits the 512 MiB budget \(5% kept free\)/);
  });

  it('holds the base as f16 under precision auto where shader-f16 is offered, and says why', () => {
    const f32 = planMemory(req({ precision: 'auto', shaderF16: false }));
    const f16 = planMemory(req({ precision: 'auto', shaderF16: true }));
    expect(f32).toMatchObject({ fits: true, quant: 'none', precision: 'f32' });
    expect(f16).toMatchObject({ fits: true, quant: 'none', precision: 'f16' });
    expect(f32.reasons.join('\n')).toMatch(/precision auto: f32 because the adapter lacks shader-f16/);
    expect(f16.reasons.join('\n')).toMatch(/linear weights are f16.*precision auto: f16 because the adapter offers shader-f16/);
    // Halves are half the linear weights' bytes; embeddings, norms and the rope table stay f32.
    const shape = { method: 'lora' as const, batch: 1, seq: 8, r: 16, loraModules: modules, loraDropout: 0, gradCheckpointing: false, validation: false };
    const w32 = estimateTrainingMemory(cfg, shape).weights!;
    const w16 = estimateTrainingMemory(cfg, { ...shape, precision: 'f16' }).weights!;
    const linear = cfg.layers * modules.reduce((n, m) => n + m.in * m.out, 0) * 4;
    expect(w32 - w16).toBeCloseTo(linear / 2, -4);
    // A quantised base ignores the precision (quantised words are neither f32 nor f16).
    expect(estimateTrainingMemory(cfg, { ...shape, quant: 'int4', precision: 'f16' }).weights).toBe(estimateTrainingMemory(cfg, { ...shape, quant: 'int4' }).weights);
  });

  it('moves from f16 to int8 and NF4 under auto as the budget shrinks, but never quantises an explicit f16', () => {
    const auto = [8, 1.5, 1.1].map((gib) => planMemory(req({ budget: gib * GiB, precision: 'auto', shaderF16: true })));
    expect(auto.map((p) => `${p.quant}/${p.precision}`)).toEqual(['none/f16', 'int8/f32', 'int4/f32']);
    expect(auto[2]!.reasons.join('\n')).toMatch(/the base is NF4 \(QLoRA, one scale per 64 inputs\): f16 and int8 did not fit/);
    const f16 = planMemory(req({ budget: 1.1 * GiB, precision: 'f16', shaderF16: true }));
    expect(f16.quant).toBe('none');
    expect(f16.precision).toBe('f16');
    expect(() => planMemory(req({ precision: 'f16', shaderF16: false }))).toThrow(/shader-f16/);
    // Full fine-tuning keeps f32 weights whatever the precision.
    expect(planMemory(req({ method: 'full', precision: 'auto', shaderF16: true })).precision).toBe('f32');
  });
});
