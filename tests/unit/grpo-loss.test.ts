import { describe, expect, it } from 'vitest';
import { groupAdvantages, grpoLoss, grpoOptions, type CompletionLogps } from '../../src/core/train/preference/grpo-loss.ts';

/** The loss written out directly from the GRPO objective (DeepSeekMath eq. 3, k3 KL), for finite differences. */
function reference(beta: number, eps: number, cs: readonly CompletionLogps[]): number {
  let total = 0;
  for (const c of cs) {
    let seq = 0;
    c.logp.forEach((lp, t) => {
      const r = Math.exp(lp - c.old[t]!);
      seq += -Math.min(r * c.advantage, Math.min(Math.max(r, 1 - eps), 1 + eps) * c.advantage);
      if (beta > 0) seq += beta * (Math.exp(c.ref[t]! - lp) - (c.ref[t]! - lp) - 1);
    });
    total += seq / c.logp.length;
  }
  return total / cs.length;
}

describe('GRPO advantages', () => {
  it('normalises within each group with the sample std (torch.std) and gives 0 to groups of equal rewards', () => {
    const { advantages, zeroStdGroups } = groupAdvantages([1, 0, 0, 1, 0.5, 0.5, 0.5, 0.5], 4);
    const s = Math.sqrt((4 * 0.25) / 3);
    expect(advantages.slice(0, 4)).toEqual([0.5, -0.5, -0.5, 0.5].map((d) => d / (s + 1e-4)));
    expect(advantages.slice(4)).toEqual([0, 0, 0, 0]);
    expect(zeroStdGroups).toBe(1);
    expect(() => groupAdvantages([1, 2, 3], 2)).toThrow(/groups of 2/);
  });
});

describe('GRPO loss', () => {
  const cs: CompletionLogps[] = [
    { logp: [-1.2, -0.3, -2.0], old: [-1.0, -0.9, -2.1], ref: [-1.1, -0.5, -1.5], advantage: 1.3 },
    { logp: [-0.7], old: [-0.2], ref: [-0.6], advantage: -0.8 },
    { logp: [-3.0, -0.1], old: [-3.05, -0.12], ref: [-2.0, -0.4], advantage: -1.1 },
  ];

  for (const beta of [0, 0.04, 0.5]) {
    it(`matches the written-out objective and its finite-difference gradient (β = ${beta}, some ratios clipped)`, () => {
      const res = grpoLoss({ beta, epsilon: 0.2 }, cs);
      expect(res.loss).toBeCloseTo(reference(beta, 0.2, cs), 12);
      expect(res.clipRatio).toBeGreaterThan(0);
      const h = 1e-6;
      cs.forEach((c, i) => c.logp.forEach((_, t) => {
        const at = (d: number) => reference(beta, 0.2, cs.map((x, j) => (j === i ? { ...x, logp: x.logp.map((v, k) => (k === t ? v + d : v)) } : x)));
        expect(res.grad[i]![t]!).toBeCloseTo((at(h) - at(-h)) / (2 * h), 6);
      }));
    });
  }

  it('with π_old = π (one update per batch) the gradient is −A/|o|/n per token plus the KL term', () => {
    const same = cs.map((c) => ({ ...c, old: c.logp }));
    const res = grpoLoss({ beta: 0, epsilon: 0.2 }, same);
    expect(res.clipRatio).toBe(0);
    same.forEach((c, i) => c.logp.forEach((_, t) => expect(res.grad[i]![t]!).toBeCloseTo(-c.advantage / c.logp.length / same.length, 14)));
    expect(res.loss).toBeCloseTo(-same.reduce((s, c) => s + c.advantage, 0) / same.length, 14);
    expect(Number.isNaN(res.kl)).toBe(true);
    expect(grpoLoss({ beta: 0.1, epsilon: 0.2 }, same.map((c) => ({ ...c, ref: c.logp }))).kl).toBe(0);
  });

  it('rejects options outside their ranges', () => {
    expect(grpoOptions({}).generations).toBe(8);
    expect(() => grpoOptions({ generations: 1 })).toThrow(/generations must be an integer of at least 2/);
    expect(() => grpoOptions({ epsilon: 1 })).toThrow(/epsilon must be in/);
    expect(() => grpoOptions({ beta: -0.1 })).toThrow(/beta must be a number ≥ 0/);
    expect(() => grpoLoss({ beta: 0, epsilon: 0.2 }, [])).toThrow(/at least one completion/);
  });
});
