import { describe, expect, it } from 'vitest';
import { ktoLoss, logSigmoid, pairedLoss, type RowLogps } from '../../src/core/train/preference/losses.ts';
import { preferenceOptions, type PreferenceOptions } from '../../src/core/train/preference/method.ts';

/** Central differences of a float64 scalar function. */
function numeric(f: (x: number[]) => number, x0: readonly number[], h = 1e-6): number[] {
  return x0.map((_, i) => {
    const up = [...x0];
    const down = [...x0];
    up[i]! += h;
    down[i]! -= h;
    return (f(up) - f(down)) / (2 * h);
  });
}

const chosen: RowLogps[] = [
  { logp: -12.5, tokens: 5, ref: -13.1 },
  { logp: -4.25, tokens: 3, ref: -3.9 },
  { logp: -30.0, tokens: 11, ref: -29.0 },
];
const rejected: RowLogps[] = [
  { logp: -15.0, tokens: 6, ref: -14.0 },
  { logp: -3.5, tokens: 2, ref: -4.0 },
  { logp: -22.0, tokens: 9, ref: -25.5 },
];

/** The paired loss as a function of the policy log-probs [chosen..., rejected...]. */
function asFunction(o: PreferenceOptions): (x: number[]) => number {
  const n = chosen.length;
  return (x) => pairedLoss(o, chosen.map((r, i) => ({ ...r, logp: x[i]! })), rejected.map((r, i) => ({ ...r, logp: x[n + i]! }))).loss;
}

describe('preference losses (float64)', () => {
  const x0 = [...chosen, ...rejected].map((r) => r.logp);
  const cases: [string, PreferenceOptions][] = [
    ['dpo sigmoid', preferenceOptions('dpo', { beta: 0.3 })],
    ['dpo sigmoid, label smoothing', preferenceOptions('dpo', { beta: 0.2, labelSmoothing: 0.1 })],
    ['dpo sigmoid, rpo_alpha', preferenceOptions('dpo', { beta: 0.3, rpoAlpha: 0.7 })],
    ['ipo, rpo_alpha', preferenceOptions('dpo', { beta: 0.5, lossType: 'ipo', rpoAlpha: 1 })],
    ['ipo', preferenceOptions('dpo', { beta: 0.5, lossType: 'ipo' })],
    ['orpo', preferenceOptions('orpo', { beta: 0.25 })],
    ['simpo', preferenceOptions('simpo', { beta: 2, simpoGamma: 1, labelSmoothing: 0.05 })],
  ];
  for (const [name, o] of cases) {
    it(`${name}: gradient matches finite differences`, () => {
      const got = pairedLoss(o, chosen, rejected).grad;
      const want = numeric(asFunction(o), x0);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-7 + 1e-6 * Math.abs(want[i]!));
    });
  }

  it('dpo: the value is TRL’s formula, and with policy = reference every pair costs ln 2 with zero rewards', () => {
    const o = preferenceOptions('dpo', { beta: 0.3 });
    const h = chosen.map((c, i) => c.logp - c.ref - (rejected[i]!.logp - rejected[i]!.ref));
    const want = h.reduce((s, v) => s - logSigmoid(0.3 * v), 0) / h.length;
    expect(pairedLoss(o, chosen, rejected).loss).toBeCloseTo(want, 12);
    const same = pairedLoss(o, chosen.map((r) => ({ ...r, ref: r.logp })), rejected.map((r) => ({ ...r, ref: r.logp })));
    expect(same.loss).toBeCloseTo(Math.LN2, 12);
    expect(same.metrics['rewards/chosen']).toBe(0);
    expect(same.metrics['rewards/rejected']).toBe(0);
    expect(same.metrics['rewards/margins']).toBe(0);
    expect(same.metrics['rewards/accuracies']).toBe(0);
  });

  it('dpo metrics are TRL’s: β-scaled log-ratios, accuracy of chosen > rejected, summed log-probs', () => {
    const m = pairedLoss(preferenceOptions('dpo', { beta: 0.1 }), chosen, rejected).metrics;
    const rc = chosen.map((r) => 0.1 * (r.logp - r.ref));
    const rr = rejected.map((r) => 0.1 * (r.logp - r.ref));
    expect(m['rewards/chosen']).toBeCloseTo((rc[0]! + rc[1]! + rc[2]!) / 3, 12);
    expect(m['rewards/accuracies']).toBeCloseTo(rc.filter((v, i) => v > rr[i]!).length / 3, 12);
    expect(m['logps/rejected']).toBeCloseTo((-15 - 3.5 - 22) / 3, 12);
  });

  it('ipo and simpo use length-averaged log-probs; orpo adds the chosen NLL', () => {
    const ipo = pairedLoss(preferenceOptions('dpo', { beta: 0.5, lossType: 'ipo' }), chosen.slice(0, 1), rejected.slice(0, 1));
    const h = (-12.5 + 13.1) / 5 - (-15 + 14) / 6;
    expect(ipo.loss).toBeCloseTo((h - 1) ** 2, 12);
    const simpo = pairedLoss(preferenceOptions('simpo', { beta: 2, simpoGamma: 1 }), chosen.slice(0, 1), rejected.slice(0, 1));
    expect(simpo.loss).toBeCloseTo(-logSigmoid(2 * (-12.5 / 5 + 15 / 6 - 0.5)), 12);
    const orpo = pairedLoss(preferenceOptions('orpo', { beta: 0.1 }), chosen.slice(0, 1), rejected.slice(0, 1));
    const [pc, pr] = [-12.5 / 5, -15 / 6];
    const odds = pc - pr - (Math.log(1 - Math.exp(pc)) - Math.log(1 - Math.exp(pr)));
    expect(orpo.loss).toBeCloseTo(12.5 / 5 - 0.1 * logSigmoid(odds), 12);
    expect(orpo.metrics['nll_loss']).toBeCloseTo(2.5, 12);
  });

  it('dpo rpo_alpha: TRL adds α × the chosen tokens\' mean NLL (over every chosen token of the batch) to the DPO loss', () => {
    const plain = pairedLoss(preferenceOptions('dpo', { beta: 0.3 }), chosen, rejected);
    const rpo = pairedLoss(preferenceOptions('dpo', { beta: 0.3, rpoAlpha: 0.7 }), chosen, rejected);
    const nll = (12.5 + 4.25 + 30) / (5 + 3 + 11);
    expect(rpo.loss).toBeCloseTo(plain.loss + 0.7 * nll, 12);
    expect(rpo.metrics['nll_loss']).toBeCloseTo(nll, 12);
    expect(plain.metrics['nll_loss']).toBeUndefined();
    // The rewards are DPO's, untouched by the NLL term; α = 0 is DPO with the NLL logged.
    expect(rpo.metrics['rewards/margins']).toBe(plain.metrics['rewards/margins']);
    expect(pairedLoss(preferenceOptions('dpo', { beta: 0.3, rpoAlpha: 0 }), chosen, rejected).loss).toBe(plain.loss);
    // Only the chosen rows get the NLL's gradient, −α/(chosen tokens) each.
    for (let i = 0; i < 3; i++) expect(rpo.grad[i]! - plain.grad[i]!).toBeCloseTo(-0.7 / 19, 12);
    for (let i = 3; i < 6; i++) expect(rpo.grad[i]).toBe(plain.grad[i]);
  });

  it('kto: gradient matches finite differences (KL estimate clamped at 0) and the value matches the formula', () => {
    const rows: RowLogps[] = [...chosen, ...rejected];
    const good = [true, false, true, false, true, false];
    const o = preferenceOptions('kto', { beta: 0.4, desirableWeight: 1.5, undesirableWeight: 0.7 });
    const f = (x: number[]) => ktoLoss(o, rows.map((r, i) => ({ ...r, logp: x[i]! })), good).loss;
    const x = rows.map((r) => r.logp - 2); // mean log-ratio < 0: z = 0, constant near x
    const got = ktoLoss(o, rows.map((r, i) => ({ ...r, logp: x[i]! })), good).grad;
    const want = numeric(f, x);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-9);
    // With a positive KL estimate, z enters both sides (detached, as in TRL).
    const res = ktoLoss(o, rows, good);
    const ratios = rows.map((r) => r.logp - r.ref);
    const kl = Math.max(0, ratios.reduce((a, b) => a + b, 0) / ratios.length);
    const s = (v: number) => 1 / (1 + Math.exp(-v));
    const want2 = ratios.reduce((acc, r, i) => acc + (good[i] ? 1.5 * (1 - s(0.4 * (r - kl))) : 0.7 * (1 - s(0.4 * (kl - r)))), 0) / 6;
    expect(kl).toBeGreaterThan(0);
    expect(res.loss).toBeCloseTo(want2, 12);
  });

  it('refuses options outside their range with the option named', () => {
    expect(() => preferenceOptions('dpo', { beta: 0 })).toThrow(/beta/);
    expect(() => preferenceOptions('dpo', { labelSmoothing: 0.5 })).toThrow(/label smoothing/);
    expect(() => preferenceOptions('orpo', { lossType: 'ipo' })).toThrow(/ipo/);
    expect(() => preferenceOptions('dpo', { rpoAlpha: -1 })).toThrow(/rpo alpha/);
    expect(() => preferenceOptions('simpo', { rpoAlpha: 1 })).toThrow(/rpo alpha is a DPO option/);
  });
});
