/**
 * A float64 CPU forward of Gemma 3 text models (Gemma3ForCausalLM), written from transformers'
 * modeling_gemma3.py over Hugging Face tensor names and the raw config.json, sharing no code with
 * the engine:
 *   x = embed_tokens(ids) · sqrt(hidden_size)            (Gemma3TextScaledWordEmbedding)
 *   per layer: h = x + post_attention_layernorm(attn(input_layernorm(x)))
 *              x = h + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(h)))
 *   RMSNorm(x) = x / sqrt(mean(x²) + eps) · (1 + w)      (Gemma3RMSNorm)
 *   attn: q/k/v projections, q_norm/k_norm per head, RoPE (local base on sliding layers), scores
 *         · query_pre_attn_scalar^-0.5, causal mask, sliding layers see keys j with t - j < window
 *   mlp: down(gelu_pytorch_tanh(gate(x)) · up(x))
 *   logits = final norm(x) · embed_tokensᵀ (tied) or lm_head
 */
import { linear } from './transformer-ref.ts';

type Tensors = Map<string, Float64Array>;
type Json = Record<string, unknown>;

const num = (c: Json, k: string, d: number): number => (typeof c[k] === 'number' ? (c[k] as number) : d);

/** Gemma3RMSNorm over rows of D: x · rsqrt(mean(x²) + eps) · (1 + w). */
function rmsNorm(x: Float64Array, rows: number, D: number, w: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < D; i++) ss += x[r * D + i]! ** 2;
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let i = 0; i < D; i++) y[r * D + i] = x[r * D + i]! * inv * (1 + w[i]!);
  }
  return y;
}

const geluTanh = (z: number): number => 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3)));

/** inv_freq of default RoPE (and linear scaling: divided by the factor), dim = head_dim. */
function invFreq(theta: number, dim: number, linearFactor: number): Float64Array {
  return Float64Array.from({ length: dim / 2 }, (_, i) => 1 / theta ** ((2 * i) / dim) / linearFactor);
}

/** rotate_half RoPE on rows of [heads, hd] at position pos, in place. */
function rotate(x: Float64Array, row: number, heads: number, hd: number, pos: number, freq: Float64Array): void {
  const half = hd / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      const a = pos * freq[i]!;
      const b = row * heads * hd + h * hd + i;
      const [x1, x2] = [x[b]!, x[b + half]!];
      x[b] = x1 * Math.cos(a) - x2 * Math.sin(a);
      x[b + half] = x2 * Math.cos(a) + x1 * Math.sin(a);
    }
  }
}

/**
 * Gemma3TextScaledWordEmbedding: embed_scale is a float32 tensor cast to the weights' dtype. bfloat16
 * keeps the top 16 bits of the float32 (rounded to nearest even); float16 keeps 11 significant bits.
 */
function scaleInDtype(v: number, dtype: string): number {
  const f = Math.fround(v);
  if (dtype === 'bfloat16') {
    const bits = new Uint32Array(Float32Array.of(f).buffer)[0]!;
    const rounded = (bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000;
    return new Float32Array(Uint32Array.of(rounded >>> 0).buffer)[0]!;
  }
  if (dtype === 'float16') {
    const step = 2 ** (Math.floor(Math.log2(f)) - 10);
    return Math.round(f / step) * step;
  }
  return f;
}

/** Which layers are "sliding_attention": layer_types, else (i + 1) % sliding_window_pattern != 0. */
export function gemma3SlidingLayers(config: Json): boolean[] {
  const L = config['num_hidden_layers'] as number;
  if (Array.isArray(config['layer_types'])) return (config['layer_types'] as string[]).map((t) => t === 'sliding_attention');
  const pattern = num(config, 'sliding_window_pattern', 6);
  return Array.from({ length: L }, (_, i) => (i + 1) % pattern !== 0);
}

/** Logits [B·S, V] for ids [B·S]: B sequences of S tokens (positions restart at each sequence). */
export function gemma3Logits(config: Json, w: Tensors, ids: readonly number[], S: number): Float64Array {
  const get = (n: string) => {
    const v = w.get(`model.${n}`) ?? w.get(n);
    if (!v) throw new Error(`gemma3 reference: missing ${n}`);
    return v;
  };
  const H = config['hidden_size'] as number;
  const L = config['num_hidden_layers'] as number;
  const nH = config['num_attention_heads'] as number;
  const nKV = num(config, 'num_key_value_heads', 4);
  const hd = num(config, 'head_dim', 256);
  const I = config['intermediate_size'] as number;
  const V = config['vocab_size'] as number;
  const eps = num(config, 'rms_norm_eps', 1e-6);
  const scaling = num(config, 'query_pre_attn_scalar', 256) ** -0.5;
  const window = num(config, 'sliding_window', 4096);
  const scaleCfg = config['rope_scaling'] as Json | null | undefined;
  const linearFactor = scaleCfg && (scaleCfg['rope_type'] ?? scaleCfg['type']) === 'linear' ? (scaleCfg['factor'] as number) : 1;
  const globalFreq = invFreq(num(config, 'rope_theta', 1_000_000), hd, linearFactor);
  const localFreq = invFreq(num(config, 'rope_local_base_freq', 10_000), hd, 1);
  const sliding = gemma3SlidingLayers(config);
  const T = ids.length;

  const emb = get('embed_tokens.weight');
  const embedScale = scaleInDtype(Math.sqrt(H), String(config['dtype'] ?? config['torch_dtype'] ?? 'float32'));
  let x = new Float64Array(T * H);
  for (let t = 0; t < T; t++) for (let i = 0; i < H; i++) x[t * H + i] = emb[ids[t]! * H + i]! * embedScale;

  for (let l = 0; l < L; l++) {
    const p = `layers.${l}.`;
    const h = rmsNorm(x, T, H, get(p + 'input_layernorm.weight'), eps);
    const q = rmsNorm(linear(h, T, H, get(p + 'self_attn.q_proj.weight'), nH * hd), T * nH, hd, get(p + 'self_attn.q_norm.weight'), eps);
    const k = rmsNorm(linear(h, T, H, get(p + 'self_attn.k_proj.weight'), nKV * hd), T * nKV, hd, get(p + 'self_attn.k_norm.weight'), eps);
    const v = linear(h, T, H, get(p + 'self_attn.v_proj.weight'), nKV * hd);
    const freq = sliding[l] ? localFreq : globalFreq;
    for (let t = 0; t < T; t++) {
      rotate(q, t, nH, hd, t % S, freq);
      rotate(k, t, nKV, hd, t % S, freq);
    }
    const att = new Float64Array(T * nH * hd);
    for (let t = 0; t < T; t++) {
      const first = Math.floor(t / S) * S;
      const lo = sliding[l] ? Math.max(first, t - window + 1) : first;
      for (let hh = 0; hh < nH; hh++) {
        const g = Math.floor(hh / (nH / nKV));
        const scores: number[] = [];
        for (let j = lo; j <= t; j++) {
          let s = 0;
          for (let i = 0; i < hd; i++) s += q[t * nH * hd + hh * hd + i]! * k[j * nKV * hd + g * hd + i]!;
          scores.push(s * scaling);
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = lo; j <= t; j++) {
          for (let i = 0; i < hd; i++) att[t * nH * hd + hh * hd + i]! += (e[j - lo]! / z) * v[j * nKV * hd + g * hd + i]!;
        }
      }
    }
    const o = rmsNorm(linear(att, T, nH * hd, get(p + 'self_attn.o_proj.weight'), H), T, H, get(p + 'post_attention_layernorm.weight'), eps);
    x = x.map((a, i) => a + o[i]!);
    const h2 = rmsNorm(x, T, H, get(p + 'pre_feedforward_layernorm.weight'), eps);
    const gate = linear(h2, T, H, get(p + 'mlp.gate_proj.weight'), I);
    const up = linear(h2, T, H, get(p + 'mlp.up_proj.weight'), I);
    const act = gate.map((z, i) => geluTanh(z) * up[i]!);
    const mlp = rmsNorm(linear(act, T, I, get(p + 'mlp.down_proj.weight'), H), T, H, get(p + 'post_feedforward_layernorm.weight'), eps);
    x = x.map((a, i) => a + mlp[i]!);
  }
  const hf = rmsNorm(x, T, H, get('norm.weight'), eps);
  const head = config['tie_word_embeddings'] === false ? w.get('lm_head.weight')! : emb;
  return linear(hf, T, H, head, V);
}
