/**
 * Float64 reference of the sparse mixture-of-experts models, written from transformers'
 * modeling_mixtral.py (MixtralSparseMoeBlock, load_balancing_loss_func) and modeling_qwen2_moe.py
 * (Qwen2MoeSparseMoeBlock), over Hugging Face tensor names. Attention and norms come from
 * transformer-ref.ts; this file only replaces each layer's MLP and adds the aux loss.
 */
import type { ModelConfig } from '../../src/core/model/config.ts';
import { linear, referenceLogits } from './transformer-ref.ts';

type Tensors = Map<string, Float64Array>;

const silu = (z: number) => z / (1 + Math.exp(-z));

/** down(silu(gate(x)) · up(x)) for x [T, H]. */
function swigluMlp(x: Float64Array, T: number, H: number, I: number, gate: Float64Array, up: Float64Array, down: Float64Array): Float64Array {
  const g = linear(x, T, H, gate, I);
  const u = linear(x, T, H, up, I);
  return linear(g.map((z, i) => silu(z) * u[i]!), T, I, down, H);
}

export interface MoeReference {
  readonly logits: Float64Array;
  /** load_balancing_loss_func over every layer's router logits (without the coefficient). */
  readonly aux: number;
  /** The experts each token chose, per layer (to check that a finite difference did not change them). */
  readonly choices: string;
}

/**
 * Logits and aux loss of a Mixtral / Qwen2-MoE model for B sequences of S tokens; `attentionMask`
 * ([B·S], 1 real, 0 padding; default all 1) is the one the HF models pass to the aux loss.
 */
export function moeReference(cfg: ModelConfig, w: Tensors, ids: number[], S: number, attentionMask?: readonly number[]): MoeReference {
  const m = cfg.moe!;
  const H = cfg.hidden;
  const E = m.experts;
  const T = ids.length;
  const get = (n: string) => {
    const v = w.get(`model.${n}`);
    if (!v) throw new Error(`moe reference: missing ${n}`);
    return v;
  };
  const routerProbs: Float64Array[] = [];
  const choices: number[][] = [];
  const block = (l: number, x: Float64Array): Float64Array => {
    const mixtral = m.naming === 'mixtral';
    const pre = `layers.${l}.${mixtral ? 'block_sparse_moe' : 'mlp'}`;
    const [gateName, upName, downName] = mixtral ? ['w1', 'w3', 'w2'] : ['gate_proj', 'up_proj', 'down_proj'];
    // router_logits = gate(x); routing_weights = softmax(router_logits); topk; (renormalise)
    const logits = linear(x, T, H, get(`${pre}.gate.weight`), E);
    const probs = new Float64Array(T * E);
    const out = new Float64Array(T * H);
    const experts = new Map<number, Float64Array>();
    const expertOut = (e: number) => {
      let y = experts.get(e);
      if (!y) {
        const p = `${pre}.experts.${e}`;
        y = swigluMlp(x, T, H, m.expertInner, get(`${p}.${gateName}.weight`), get(`${p}.${upName}.weight`), get(`${p}.${downName}.weight`));
        experts.set(e, y);
      }
      return y;
    };
    for (let t = 0; t < T; t++) {
      const row = Array.from(logits.subarray(t * E, (t + 1) * E));
      const mx = Math.max(...row);
      const ex = row.map((v) => Math.exp(v - mx));
      const z = ex.reduce((a, b) => a + b, 0);
      const p = ex.map((v) => v / z);
      probs.set(p, t * E);
      const order = p.map((v, e) => [v, e] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, m.topK);
      choices.push(order.map(([, e]) => e));
      const top = order.reduce((s, [v]) => s + v, 0);
      for (const [v, e] of order) {
        const weight = m.normTopK ? v / top : v;
        const y = expertOut(e);
        for (let i = 0; i < H; i++) out[t * H + i]! += weight * y[t * H + i]!;
      }
    }
    routerProbs.push(probs);
    if (m.sharedInner > 0) {
      // shared_expert_output = sigmoid(shared_expert_gate(x)) · shared_expert(x)
      const p = `layers.${l}.mlp.shared_expert`;
      const y = swigluMlp(x, T, H, m.sharedInner, get(`${p}.gate_proj.weight`), get(`${p}.up_proj.weight`), get(`${p}.down_proj.weight`));
      const g = linear(x, T, H, get(`layers.${l}.mlp.shared_expert_gate.weight`), 1);
      for (let t = 0; t < T; t++) for (let i = 0; i < H; i++) out[t * H + i]! += (1 / (1 + Math.exp(-g[t]!))) * y[t * H + i]!;
    }
    return out;
  };
  const logits = referenceLogits(cfg, w, ids, S, undefined, block);
  // load_balancing_loss_func: concatenate the layers' rows; the attention mask, broadcast over the
  // layers (and the k choices), weights every row; tokens_per_expert = Σ(one-hot top-k mask [N, k, E]
  // · mask) / Σ mask; router_prob_per_expert = Σ(probabilities · mask) / Σ mask;
  // loss = E · Σ tokens_per_expert · router_prob_per_expert.
  const mask = attentionMask ?? new Array<number>(T).fill(1);
  if (mask.length !== T) throw new Error(`moe reference: ${mask.length} mask entries for ${T} tokens`);
  const N = routerProbs.length * mask.reduce((a, b) => a + b, 0);
  const tokensPerExpert = Array.from({ length: m.topK }, () => new Float64Array(E));
  choices.forEach((c, row) => c.forEach((e, k) => (tokensPerExpert[k]![e]! += mask[row % T]! / N)));
  const probPerExpert = new Float64Array(E);
  for (const probs of routerProbs) probs.forEach((v, i) => (probPerExpert[i % E]! += (v * mask[Math.floor(i / E)]!) / N));
  let aux = 0;
  for (const row of tokensPerExpert) row.forEach((f, e) => (aux += f * probPerExpert[e]!));
  return { logits, aux: aux * E, choices: choices.map((c) => c.join(',')).join(';') };
}
