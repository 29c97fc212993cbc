import type { Rng } from '../rng.ts';

export interface SamplingOptions {
  /** Argmax decoding (HF do_sample=False). */
  readonly greedy?: boolean;
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  /** HF's repetition penalty (>1 discourages tokens already in the prompt or output). */
  readonly repetitionPenalty?: number;
}

/** HF RepetitionPenaltyLogitsProcessor: divide positive logits by the penalty, multiply negative ones. */
export function applyRepetitionPenalty(logits: Float32Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(seen)) {
    const v = logits[id];
    if (v === undefined) continue;
    logits[id] = v > 0 ? v / penalty : v * penalty;
  }
}

/** log-softmax of the logits and its entropy (nats), for confidence and uncertainty. */
export function logSoftmax(logits: Float32Array): { logp: Float64Array; entropy: number } {
  let m = -Infinity;
  for (const v of logits) if (v > m) m = v;
  let z = 0;
  for (const v of logits) z += Math.exp(v - m);
  const lz = m + Math.log(z);
  const logp = new Float64Array(logits.length);
  let entropy = 0;
  for (let i = 0; i < logits.length; i++) {
    logp[i] = logits[i]! - lz;
    entropy -= Math.exp(logp[i]!) * logp[i]!;
  }
  return { logp, entropy };
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** Picks the next token: greedy, or temperature → top-k → top-p sampling as HF orders its warpers. */
export function sampleToken(logits: Float32Array, o: SamplingOptions, rng: Rng): number {
  const temperature = o.temperature ?? 1;
  if (o.greedy || temperature <= 0) return argmax(logits);
  const ids = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!);
  let keep = o.topK && o.topK > 0 ? Math.min(o.topK, ids.length) : ids.length;
  const m = logits[ids[0]!]! / temperature;
  const probs = ids.slice(0, keep).map((i) => Math.exp(logits[i]! / temperature - m));
  let total = probs.reduce((a, b) => a + b, 0);
  if (o.topP !== undefined && o.topP < 1) {
    let cum = 0;
    for (let i = 0; i < probs.length; i++) {
      cum += probs[i]! / total;
      if (cum >= o.topP) {
        keep = i + 1;
        break;
      }
    }
    total = probs.slice(0, keep).reduce((a, b) => a + b, 0);
  }
  let r = rng.next() * total;
  for (let i = 0; i < keep; i++) {
    r -= probs[i]!;
    if (r <= 0) return ids[i]!;
  }
  return ids[keep - 1]!;
}
