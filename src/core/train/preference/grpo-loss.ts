/**
 * GRPO's loss on the host, in float64, from per-token log-probs (TRL GRPOTrainer, loss_type
 * "grpo", as in DeepSeekMath): group-normalised advantages, the clipped policy-gradient term
 * −min(r·A, clip(r, 1−ε, 1+ε)·A) per completion token with r = π/π_old, plus β times the k3
 * estimate of KL(π‖π_ref) = e^(ref−logp) − (ref−logp) − 1; each completion's tokens are
 * averaged, then the completions. What goes back to the GPU is dL/dlogp of every token.
 */

export interface GrpoOptions {
  /** Completions sampled per prompt (TRL num_generations). */
  readonly generations: number;
  /** KL coefficient β (TRL beta; 0: no reference model). */
  readonly beta: number;
  /** Clipping range ε of the ratio (TRL epsilon). */
  readonly epsilon: number;
  /** Sampling temperature of the completions. */
  readonly temperature: number;
  /** Longest completion, in tokens (TRL max_completion_length). */
  readonly maxCompletionLength: number;
}

/** TRL's GRPOConfig defaults (β = 0: no KL term; the paper's 0.04 turns it on), with shorter completions. */
export function grpoOptions(given: Partial<GrpoOptions> = {}): GrpoOptions {
  const o: GrpoOptions = {
    generations: 8, beta: 0, epsilon: 0.2, temperature: 1, maxCompletionLength: 32,
    ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
  };
  if (!Number.isInteger(o.generations) || o.generations < 2) throw new RangeError(`generations must be an integer of at least 2, got ${o.generations}`);
  if (!(o.beta >= 0) || !Number.isFinite(o.beta)) throw new RangeError(`beta must be a number ≥ 0, got ${o.beta}`);
  if (!(o.epsilon > 0 && o.epsilon < 1)) throw new RangeError(`epsilon must be in (0, 1), got ${o.epsilon}`);
  if (!(o.temperature > 0) || !Number.isFinite(o.temperature)) throw new RangeError(`temperature must be a positive number, got ${o.temperature}`);
  if (!Number.isInteger(o.maxCompletionLength) || o.maxCompletionLength < 1) {
    throw new RangeError(`max completion length must be a positive integer, got ${o.maxCompletionLength}`);
  }
  return o;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** Sample standard deviation (n − 1), as torch.std. */
function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/**
 * Advantages of completions laid out group by group (G per prompt): (r − mean) / (std + 1e-4),
 * TRL's scale_rewards="group". A group whose rewards are all equal teaches nothing (A = 0).
 */
export function groupAdvantages(rewards: readonly number[], G: number): { advantages: number[]; zeroStdGroups: number; rewardStd: number } {
  if (rewards.length % G !== 0) throw new Error(`${rewards.length} rewards do not form groups of ${G}`);
  const advantages: number[] = [];
  let zeroStdGroups = 0;
  const stds: number[] = [];
  for (let g = 0; g < rewards.length; g += G) {
    const group = rewards.slice(g, g + G);
    const m = mean(group);
    const s = std(group);
    stds.push(s);
    if (s === 0) zeroStdGroups++;
    for (const r of group) advantages.push((r - m) / (s + 1e-4));
  }
  return { advantages, zeroStdGroups, rewardStd: mean(stds) };
}

/** One completion's tokens: policy, sampling-time (old) and reference log-probs, and its advantage. */
export interface CompletionLogps {
  readonly logp: readonly number[];
  readonly old: readonly number[];
  /** Reference log-probs (ignored when β = 0). */
  readonly ref: readonly number[];
  readonly advantage: number;
}

export interface GrpoLoss {
  readonly loss: number;
  /** dL/dlogp for each completion's tokens, in the order given. */
  readonly grad: Float64Array[];
  /** Mean per-token KL to the reference (NaN when β = 0), and the fraction of clipped tokens. */
  readonly kl: number;
  readonly clipRatio: number;
}

export function grpoLoss(o: Pick<GrpoOptions, 'beta' | 'epsilon'>, completions: readonly CompletionLogps[]): GrpoLoss {
  const n = completions.length;
  if (n === 0) throw new Error('a GRPO step needs at least one completion');
  let total = 0;
  let klSum = 0;
  let clipped = 0;
  let tokens = 0;
  const grad = completions.map((c) => {
    const T = c.logp.length;
    if (T === 0 || c.old.length !== T || (o.beta > 0 && c.ref.length !== T)) {
      throw new Error('every completion needs one old (and reference) log-prob per token, and at least one token');
    }
    const g = new Float64Array(T);
    const A = c.advantage;
    let seq = 0;
    for (let t = 0; t < T; t++) {
      const ratio = Math.exp(c.logp[t]! - c.old[t]!);
      const clip = Math.min(Math.max(ratio, 1 - o.epsilon), 1 + o.epsilon);
      const unclippedWins = ratio * A <= clip * A;
      seq -= Math.min(ratio * A, clip * A);
      // d(−r·A)/dlogp = −r·A where the unclipped term is the minimum; the clipped term is constant.
      g[t] = unclippedWins ? -ratio * A : 0;
      if (ratio !== clip) clipped++;
      if (o.beta > 0) {
        const d = c.ref[t]! - c.logp[t]!;
        const kl = Math.exp(d) - d - 1;
        seq += o.beta * kl;
        klSum += kl;
        g[t] += o.beta * (1 - Math.exp(d));
      }
      tokens++;
    }
    total += seq / T;
    for (let t = 0; t < T; t++) g[t] = g[t]! / T / n;
    return g;
  });
  return { loss: total / n, grad, kl: o.beta > 0 ? klSum / tokens : NaN, clipRatio: clipped / tokens };
}
