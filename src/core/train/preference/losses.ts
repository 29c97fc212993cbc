/**
 * Preference losses on the host, in float64, from each row's sequence log-probability (the sum
 * of its completion tokens' log-probs). They are a few scalars per row; what goes back to the GPU
 * is dL/dlogp of every row, which weights that row's cross-entropy gradient. Formulas as TRL:
 * DPOTrainer (sigmoid, ipo), ORPOTrainer, CPOTrainer(loss_type="simpo"), KTOTrainer.
 */
import type { PreferenceOptions } from './method.ts';

/** One row's log-probs: policy sum, completion tokens, and the reference's sum (0 when unused). */
export interface RowLogps {
  readonly logp: number;
  readonly tokens: number;
  readonly ref: number;
}

export interface PreferenceLoss {
  /** Mean loss over the step's pairs (KTO: examples). */
  readonly loss: number;
  /** dL/dlogp (of the summed log-prob) for each row, in the order given. */
  readonly grad: Float64Array;
  /** TRL-named metrics: rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, logps/... */
  readonly metrics: Readonly<Record<string, number>>;
}

/** log σ(x), stable for large |x|. */
export function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** −(1−ε)·log σ(βh) − ε·log σ(−βh) and its derivative in h. */
function smoothedSigmoid(h: number, beta: number, eps: number): { l: number; dh: number } {
  return {
    l: -(1 - eps) * logSigmoid(beta * h) - eps * logSigmoid(-beta * h),
    dh: -(1 - eps) * beta * sigmoid(-beta * h) + eps * beta * sigmoid(beta * h),
  };
}

/**
 * Paired methods (DPO, IPO, ORPO, SimPO). Rows are chosen[i] and rejected[i]; the gradient is laid
 * out as [chosen..., rejected...].
 */
export function pairedLoss(o: PreferenceOptions, chosen: readonly RowLogps[], rejected: readonly RowLogps[]): PreferenceLoss {
  const n = chosen.length;
  if (n === 0 || rejected.length !== n) throw new Error(`a preference batch needs as many chosen as rejected rows (${n}, ${rejected.length})`);
  for (const r of [...chosen, ...rejected]) if (!(r.tokens > 0)) throw new Error('every chosen and rejected completion needs at least one trained token');
  // IPO, ORPO and SimPO use log-probs averaged over the completion's tokens; DPO uses sums.
  const averaged = o.method !== 'dpo' || o.lossType === 'ipo';
  const value = (r: RowLogps) => (averaged ? r.logp / r.tokens : r.logp);
  const grad = new Float64Array(2 * n);
  const rc: number[] = [];
  const rr: number[] = [];
  let total = 0;
  const extra: Record<string, number[]> = {};
  const note = (k: string, v: number) => (extra[k] ??= []).push(v);
  const chosenTokens = chosen.reduce((s, r) => s + r.tokens, 0);
  for (let i = 0; i < n; i++) {
    const c = chosen[i]!;
    const r = rejected[i]!;
    const pc = value(c);
    const pr = value(r);
    let l: number;
    let dc: number;
    let dr: number;
    if (o.method === 'dpo') {
      const refC = averaged ? c.ref / c.tokens : c.ref;
      const refR = averaged ? r.ref / r.tokens : r.ref;
      const h = pc - refC - (pr - refR);
      if (o.lossType === 'ipo') {
        const d = h - 1 / (2 * o.beta);
        l = d * d;
        dc = 2 * d;
      } else {
        const s = smoothedSigmoid(h, o.beta, o.labelSmoothing);
        l = s.l;
        dc = s.dh;
      }
      dr = -dc;
      rc.push(o.beta * (pc - refC));
      rr.push(o.beta * (pr - refR));
    } else if (o.method === 'simpo') {
      const s = smoothedSigmoid(pc - pr - o.simpoGamma / o.beta, o.beta, o.labelSmoothing);
      l = s.l;
      dc = s.dh;
      dr = -s.dh;
      rc.push(o.beta * pc);
      rr.push(o.beta * pr);
    } else if (o.method === 'orpo') {
      // log odds(y) = log p − log(1 − p) with p the mean token probability; d/dp of it is 1/(1 − e^p).
      const logOdds = pc - pr - (Math.log1p(-Math.exp(pc)) - Math.log1p(-Math.exp(pr)));
      const ratio = logSigmoid(logOdds);
      l = -o.beta * ratio;
      const dOdds = -o.beta * sigmoid(-logOdds);
      dc = dOdds / -Math.expm1(pc);
      dr = -dOdds / -Math.expm1(pr);
      note('log_odds_ratio', ratio);
      note('log_odds_chosen', logOdds);
      rc.push(o.beta * pc);
      rr.push(o.beta * pr);
    } else {
      throw new Error(`${o.method} is not a paired method`);
    }
    total += l;
    // Per-pair terms are averaged; averaged log-probs pass 1/tokens on to the summed log-prob.
    grad[i] = dc / n / (averaged ? c.tokens : 1);
    grad[n + i] = dr / n / (averaged ? r.tokens : 1);
  }
  let loss = total / n;
  const metrics: Record<string, number> = {};
  // ORPO adds the SFT loss of the chosen completions, and DPO with rpo_alpha (RPO) α times it:
  // cross-entropy averaged over every chosen token of the batch, as TRL's F.cross_entropy.
  // (A run recorded before rpo_alpha existed has none: `!= null`.)
  const rpo = o.method === 'dpo' && o.rpoAlpha != null;
  if (o.method === 'orpo' || rpo) {
    const nllWeight = rpo ? o.rpoAlpha! : 1;
    const nll = -chosen.reduce((s, r) => s + r.logp, 0) / chosenTokens;
    loss += nllWeight * nll;
    for (let i = 0; i < n; i++) grad[i] += -nllWeight / chosenTokens;
    metrics['nll_loss'] = nll;
  }
  Object.assign(metrics, {
    'rewards/chosen': mean(rc),
    'rewards/rejected': mean(rr),
    'rewards/accuracies': mean(rc.map((v, i) => (v > rr[i]! ? 1 : 0))),
    'rewards/margins': mean(rc.map((v, i) => v - rr[i]!)),
    'logps/chosen': mean(chosen.map(value)),
    'logps/rejected': mean(rejected.map(value)),
  });
  for (const [k, v] of Object.entries(extra)) metrics[k] = mean(v);
  return { loss, grad, metrics };
}

/**
 * KTO on unpaired examples: desirable rows gain, undesirable rows lose, against a reference
 * point z = max(0, KL) estimated from the batch (detached, as TRL detaches its KL estimate).
 * TRL estimates KL on mismatched prompt/completion pairs; here it is the batch's mean log-ratio.
 */
export function ktoLoss(o: PreferenceOptions, rows: readonly RowLogps[], desirable: readonly boolean[]): PreferenceLoss {
  const n = rows.length;
  if (n === 0 || desirable.length !== n) throw new Error('a KTO batch needs one label per row');
  const ratios = rows.map((r) => r.logp - r.ref);
  const kl = Math.max(0, mean(ratios));
  const grad = new Float64Array(n);
  let total = 0;
  const rc: number[] = [];
  const rr: number[] = [];
  rows.forEach((_, i) => {
    const good = desirable[i]!;
    const z = o.beta * (good ? ratios[i]! - kl : kl - ratios[i]!);
    const w = good ? o.desirableWeight : o.undesirableWeight;
    const s = sigmoid(z);
    total += w * (1 - s);
    // d(1 − σ(z))/dz = −σ(1 − σ); dz/dlogp = ±β.
    grad[i] = (w * -s * (1 - s) * (good ? o.beta : -o.beta)) / n;
    (good ? rc : rr).push(o.beta * ratios[i]!);
  });
  return {
    loss: total / n,
    grad,
    metrics: {
      'rewards/chosen': mean(rc),
      'rewards/rejected': mean(rr),
      'rewards/margins': mean(rc) - mean(rr),
      'logps/chosen': mean(rows.filter((_, i) => desirable[i]).map((r) => r.logp)),
      'logps/rejected': mean(rows.filter((_, i) => !desirable[i]).map((r) => r.logp)),
      kl,
    },
  };
}
