/**
 * A float64 CPU forward of GPT-2 / Llama / Qwen2 / Qwen3 written from the architectures' definitions over
 * Hugging Face tensors. Tests use it for models the fixtures do not cover (Qwen2 with q/k/v biases
 * and an untied head, llama3 rope scaling) and to localise a mismatch layer by layer.
 */
import type { ModelConfig } from '../../src/core/model/config.ts';
import { ropeParameters } from '../../src/core/model/config.ts';

type Tensors = Map<string, Float64Array>;

/** x [T, inF] · Wᵀ (+ b), W [outF, inF] ([inF, outF] for GPT-2's Conv1D). */
export function linear(x: Float64Array, T: number, inF: number, w: Float64Array, outF: number, b?: Float64Array, conv1d = false): Float64Array {
  const y = new Float64Array(T * outF);
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < inF; i++) s += x[t * inF + i]! * (conv1d ? w[i * outF + o]! : w[o * inF + i]!);
      y[t * outF + o] = s;
    }
  }
  return y;
}

function norm(x: Float64Array, T: number, D: number, w: Float64Array, b: Float64Array | undefined, eps: number, rms: boolean): Float64Array {
  const y = new Float64Array(T * D);
  for (let t = 0; t < T; t++) {
    let mean = 0;
    if (!rms) {
      for (let i = 0; i < D; i++) mean += x[t * D + i]!;
      mean /= D;
    }
    let v = 0;
    for (let i = 0; i < D; i++) v += (x[t * D + i]! - mean) ** 2;
    const r = 1 / Math.sqrt(v / D + eps);
    for (let i = 0; i < D; i++) y[t * D + i] = (x[t * D + i]! - mean) * r * w[i]! + (b ? b[i]! : 0);
  }
  return y;
}

/** Logits [B·S, V] for token ids [B·S] of B sequences of S tokens (causal, no padding). */
export function referenceLogits(
  cfg: ModelConfig, w: Tensors, ids: number[], S: number, tap?: (name: string, layer: number, v: Float64Array) => void,
  /** Replaces the MLP of every layer (mixture-of-experts blocks: moe-ref.ts). */
  mlpBlock?: (layer: number, h2: Float64Array) => Float64Array,
  /** Adds to a Llama-family linear module's output y [T, out] from its input x (adapters: adapter-gate-ref.ts). */
  adapt?: (layer: number, module: string, x: Float64Array, y: Float64Array) => void,
): Float64Array {
  const gpt2 = cfg.arch === 'gpt2';
  const get = (n: string) => {
    const v = w.get(n) ?? w.get((gpt2 ? 'transformer.' : 'model.') + n);
    if (!v) throw new Error(`reference: missing ${n}`);
    return v;
  };
  const opt = (n: string) => w.get(n) ?? w.get((gpt2 ? 'transformer.' : 'model.') + n);
  const T = ids.length;
  const H = cfg.hidden;
  const hd = cfg.headDim;
  const nH = cfg.heads;
  const nKV = cfg.kvHeads;
  const rms = cfg.norm === 'rmsnorm';
  let x = new Float64Array(T * H);
  const emb = get(gpt2 ? 'wte.weight' : 'embed_tokens.weight');
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < H; i++) x[t * H + i] = emb[ids[t]! * H + i]! + (gpt2 ? get('wpe.weight')[(t % S) * H + i]! : 0);
  }
  const inv = cfg.rope ? ropeParameters(cfg) : null;
  for (let l = 0; l < cfg.layers; l++) {
    const p = gpt2 ? `h.${l}.` : `layers.${l}.`;
    const lin = (id: string, x: Float64Array, inF: number, outF: number) => {
      const y = linear(x, T, inF, get(p + id + '.weight'), outF, opt(p + id + '.bias'));
      adapt?.(l, id, x, y);
      return y;
    };
    const h = norm(x, T, H, get(p + (gpt2 ? 'ln_1.weight' : 'input_layernorm.weight')), gpt2 ? get(p + 'ln_1.bias') : undefined, cfg.normEps, rms);
    let q: Float64Array, k: Float64Array, v: Float64Array;
    if (gpt2) {
      const qkv = linear(h, T, H, get(p + 'attn.c_attn.weight'), 3 * H, get(p + 'attn.c_attn.bias'), true);
      q = new Float64Array(T * H); k = new Float64Array(T * H); v = new Float64Array(T * H);
      for (let t = 0; t < T; t++) for (let i = 0; i < H; i++) {
        q[t * H + i] = qkv[t * 3 * H + i]!; k[t * H + i] = qkv[t * 3 * H + H + i]!; v[t * H + i] = qkv[t * 3 * H + 2 * H + i]!;
      }
    } else {
      q = lin('self_attn.q_proj', h, H, nH * hd);
      k = lin('self_attn.k_proj', h, H, nKV * hd);
      v = lin('self_attn.v_proj', h, H, nKV * hd);
      if (cfg.qkNorm && cfg.qkNormWhole) {
        // OLMoE: q_norm over the whole q projection, k_norm over the whole k projection, before RoPE.
        q = norm(q, T, nH * hd, get(p + 'self_attn.q_norm.weight'), undefined, cfg.normEps, true);
        k = norm(k, T, nKV * hd, get(p + 'self_attn.k_norm.weight'), undefined, cfg.normEps, true);
      } else if (cfg.qkNorm) {
        // Qwen3: RMSNorm over each head of q and k (weight [head_dim]) before RoPE.
        q = norm(q, T * nH, hd, get(p + 'self_attn.q_norm.weight'), undefined, cfg.normEps, true);
        k = norm(k, T * nKV, hd, get(p + 'self_attn.k_norm.weight'), undefined, cfg.normEps, true);
      }
    }
    if (inv) {
      const half = hd / 2;
      for (const [arr, heads] of [[q, nH], [k, nKV]] as const) {
        for (let t = 0; t < T; t++) for (let hh = 0; hh < heads; hh++) for (let i = 0; i < half; i++) {
          const a = (t % S) * inv.invFreq[i]!;
          const c = Math.cos(a) * inv.attentionScaling;
          const s = Math.sin(a) * inv.attentionScaling;
          const base = t * heads * hd + hh * hd + i;
          const x1 = arr[base]!; const x2 = arr[base + half]!;
          arr[base] = x1 * c - x2 * s;
          arr[base + half] = x2 * c + x1 * s;
        }
      }
    }
    const att = new Float64Array(T * nH * hd);
    for (let t = 0; t < T; t++) {
      const b0 = Math.floor(t / S) * S;
      for (let hh = 0; hh < nH; hh++) {
        const g = Math.floor(hh / (nH / nKV));
        const sc: number[] = [];
        for (let j = b0; j <= t; j++) {
          let s = 0;
          for (let i = 0; i < hd; i++) s += q[t * nH * hd + hh * hd + i]! * k[j * nKV * hd + g * hd + i]!;
          sc.push(s / Math.sqrt(hd));
        }
        const m = Math.max(...sc);
        const e = sc.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = b0; j <= t; j++) for (let i = 0; i < hd; i++) att[t * nH * hd + hh * hd + i]! += (e[j - b0]! / z) * v[j * nKV * hd + g * hd + i]!;
      }
    }
    tap?.('att', l, att);
    const o = gpt2 ? linear(att, T, H, get(p + 'attn.c_proj.weight'), H, get(p + 'attn.c_proj.bias'), true)
      : lin('self_attn.o_proj', att, nH * hd, H);
    x = x.map((v0, i) => v0 + o[i]!);
    tap?.('xm', l, x);
    const h2 = norm(x, T, H, get(p + (gpt2 ? 'ln_2.weight' : 'post_attention_layernorm.weight')), gpt2 ? get(p + 'ln_2.bias') : undefined, cfg.normEps, rms);
    let mlp: Float64Array;
    const I = cfg.intermediate;
    if (gpt2) {
      const u = linear(h2, T, H, get(p + 'mlp.c_fc.weight'), I, get(p + 'mlp.c_fc.bias'), true)
        .map((z) => 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3))));
      mlp = linear(u, T, I, get(p + 'mlp.c_proj.weight'), H, get(p + 'mlp.c_proj.bias'), true);
    } else if (mlpBlock) {
      mlp = mlpBlock(l, h2);
    } else {
      const g = lin('mlp.gate_proj', h2, H, I);
      const u = lin('mlp.up_proj', h2, H, I);
      const a = g.map((z, i) => (z / (1 + Math.exp(-z))) * u[i]!);
      mlp = lin('mlp.down_proj', a, I, H);
    }
    x = x.map((v0, i) => v0 + mlp[i]!);
    tap?.('x', l + 1, x);
  }
  const hf = norm(x, T, H, get(gpt2 ? 'ln_f.weight' : 'norm.weight'), gpt2 ? get('ln_f.bias') : undefined, cfg.normEps, rms);
  const head = cfg.tiedEmbeddings ? emb : w.get('lm_head.weight')!;
  return linear(hf, T, H, head, cfg.vocabSize);
}
