/**
 * A float64 reference of the adapter gate, written from its definition: per layer l and token,
 * g = softmax(h1·W_g[l]ᵀ + b[l]) from the layer's normed input h1, and every adapted linear module
 * adds Σ_k g_k · s_k · (x·A_kᵀ)·B_kᵀ over the K adapters that have it. Runs inside transformer-ref.ts.
 */
import type { ModelConfig } from '../../src/core/model/config.ts';
import { referenceLogits } from './transformer-ref.ts';

export interface RefAdapter {
  readonly r: number;
  readonly scaling: number;
  /** `layers.{l}.{module id}.lora_A` [r, in] and `.lora_B` [out, r]; absent: the adapter lacks the module. */
  readonly values: ReadonlyMap<string, ArrayLike<number>>;
}

export interface RefGate {
  /** Per layer: W_g [K, H] row-major, then b [K]. */
  readonly weight: readonly ArrayLike<number>[];
  readonly bias: readonly ArrayLike<number>[];
}

export function gatedLogits(
  cfg: ModelConfig, w: Map<string, Float64Array>, ids: number[], S: number, adapters: readonly RefAdapter[], gate: RefGate,
  /** Sees each layer's gate weights g [T, K] (the routing the app shows). */
  onGate?: (layer: number, g: Float64Array) => void,
): Float64Array {
  const T = ids.length;
  const K = adapters.length;
  const H = cfg.hidden;
  const gates = new Map<number, Float64Array>();
  return referenceLogits(cfg, w, ids, S, undefined, undefined, (l, id, x, y) => {
    if (id === 'self_attn.q_proj') {
      gates.set(l, softmaxGate(x, T, H, K, gate.weight[l]!, gate.bias[l]!));
      onGate?.(l, gates.get(l)!);
    }
    const g = gates.get(l)!;
    const inF = x.length / T;
    const outF = y.length / T;
    adapters.forEach((ad, k) => {
      const A = ad.values.get(`layers.${l}.${id}.lora_A`);
      const B = ad.values.get(`layers.${l}.${id}.lora_B`);
      if (!A || !B) return;
      for (let t = 0; t < T; t++) {
        const u = new Float64Array(ad.r);
        for (let j = 0; j < ad.r; j++) for (let i = 0; i < inF; i++) u[j] += x[t * inF + i]! * A[j * inF + i]!;
        const c = g[t * K + k]! * ad.scaling;
        for (let o = 0; o < outF; o++) {
          let s = 0;
          for (let j = 0; j < ad.r; j++) s += u[j]! * B[o * ad.r + j]!;
          y[t * outF + o] += c * s;
        }
      }
    });
  });
}

function softmaxGate(h: Float64Array, T: number, H: number, K: number, W: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const g = new Float64Array(T * K);
  for (let t = 0; t < T; t++) {
    const z = Array.from({ length: K }, (_, k) => {
      let s = b[k]!;
      for (let i = 0; i < H; i++) s += h[t * H + i]! * W[k * H + i]!;
      return s;
    });
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, v) => a + v, 0);
    e.forEach((v, k) => (g[t * K + k] = v / sum));
  }
  return g;
}
