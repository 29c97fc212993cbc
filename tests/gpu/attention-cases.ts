/** Attention test cases (bounds from causal, window and packing) and the float64 backward reference. */

export interface Case {
  readonly B: number; readonly S: number; readonly H: number; readonly KVH: number; readonly hd: number;
  /** Keys a query sees at most (sliding window), or 0 for plain causal. */
  readonly window: number;
  /** Packed-example ids per token of one sequence, or null. */
  readonly segments: readonly number[] | null;
}

/** Query bounds (causal, window, packed examples) and the key bounds that invert them. */
export function boundsOf(c: Case): { query: Uint32Array; key: Uint32Array } {
  const T = c.B * c.S;
  const query = new Uint32Array(2 * T);
  const key = new Uint32Array(2 * T);
  const seg = (s: number) => c.segments?.[s] ?? 0;
  for (let b = 0; b < c.B; b++) {
    for (let s = 0; s < c.S; s++) {
      let lo = s;
      while (lo > 0 && seg(lo - 1) === seg(s) && (c.window === 0 || s - (lo - 1) < c.window)) lo--;
      query.set([lo, s], 2 * (b * c.S + s));
    }
    for (let j = 0; j < c.S; j++) {
      let hi = j;
      while (hi + 1 < c.S && query[2 * (b * c.S + hi + 1)]! <= j) hi++;
      key.set([j, hi], 2 * (b * c.S + j));
    }
  }
  return { query, key };
}

/** Dense q [T, H·hd], k, v [T, KVH·hd] from a fused [T, (H + 2·KVH)·hd] array. */
export function splitQkv(qkv: ArrayLike<number>, T: number, H: number, KVH: number, hd: number) {
  const W = (H + 2 * KVH) * hd;
  const q = new Float64Array(T * H * hd);
  const k = new Float64Array(T * KVH * hd);
  const v = new Float64Array(T * KVH * hd);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < H * hd; i++) q[t * H * hd + i] = qkv[t * W + i]!;
    for (let i = 0; i < KVH * hd; i++) {
      k[t * KVH * hd + i] = qkv[t * W + H * hd + i]!;
      v[t * KVH * hd + i] = qkv[t * W + (H + KVH) * hd + i]!;
    }
  }
  return { q, k, v };
}

/** `splitQkv` for a test case's shape. */
export const split = (qkv: ArrayLike<number>, c: Case) => splitQkv(qkv, c.B * c.S, c.H, c.KVH, c.hd);

/**
 * Float64 gradient of Σ dO·softmax(q·kᵀ·scale)·v with respect to the fused q|k|v rows, from the
 * softmax Jacobian: dS = P ∘ (dP − Σ_j P·dP), dq = scale·dS·k, dk = scale·dSᵀ·q, dv = Pᵀ·dO.
 */
export function backwardRef(qkv: ArrayLike<number>, dO: ArrayLike<number>, c: Case, query: ArrayLike<number>): Float64Array {
  const { S, H, KVH, hd } = c;
  const T = c.B * S;
  const W = (H + 2 * KVH) * hd;
  const scale = 1 / Math.sqrt(hd);
  const grad = new Float64Array(T * W);
  const at = (t: number, col: number, d: number) => qkv[t * W + col + d]!;
  for (let t = 0; t < T; t++) {
    const base = Math.floor(t / S) * S;
    const [lo, hi] = [query[2 * t]!, query[2 * t + 1]!];
    for (let h = 0; h < H; h++) {
      const [qc, kc, vc] = [h * hd, H * hd + Math.floor(h / (H / KVH)) * hd, (H + KVH) * hd + Math.floor(h / (H / KVH)) * hd];
      const s: number[] = [];
      const dp: number[] = [];
      for (let j = lo; j <= hi; j++) {
        let [sj, dpj] = [0, 0];
        for (let d = 0; d < hd; d++) {
          sj += at(t, qc, d) * at(base + j, kc, d);
          dpj += dO[t * H * hd + h * hd + d]! * at(base + j, vc, d);
        }
        s.push(sj * scale);
        dp.push(dpj);
      }
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = e.reduce((a, b) => a + b, 0);
      const pr = e.map((x) => x / z);
      const mean = pr.reduce((a, p, i) => a + p * dp[i]!, 0);
      for (let j = lo; j <= hi; j++) {
        const [p, ds] = [pr[j - lo]!, pr[j - lo]! * (dp[j - lo]! - mean) * scale];
        for (let d = 0; d < hd; d++) {
          grad[t * W + qc + d]! += ds * at(base + j, kc, d);
          grad[(base + j) * W + kc + d]! += ds * at(t, qc, d);
          grad[(base + j) * W + vc + d]! += p * dO[t * H * hd + h * hd + d]!;
        }
      }
    }
  }
  return grad;
}
