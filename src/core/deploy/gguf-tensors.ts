/**
 * Hugging Face tensor names and layouts → llama.cpp's, as convert_hf_to_gguf.py maps them:
 *   Llama/Qwen2: token_embd, blk.N.attn_norm, attn_q/k/v/output (+ biases), ffn_norm,
 *                ffn_gate/up/down, output_norm, output (untied heads only); Llama's q and k rows
 *                are permuted from rotate-half order to llama.cpp's interleaved RoPE pairs.
 *                Qwen3 adds attn_q_norm and attn_k_norm (its per-head q/k RMSNorm weights).
 *   GPT-2:       token_embd, position_embd, blk.N.attn_norm, attn_qkv, attn_output, ffn_norm,
 *                ffn_up, ffn_down, output_norm; Conv1D weights ([in, out]) are transposed.
 */
import { InputError } from '../errors.ts';
import { archSpec } from '../model/arch/index.ts';
import type { ModelConfig } from '../model/config.ts';
import type { ModuleId } from '../formats/peft.ts';

/** How a tensor's values change on the way into GGUF (applied after a LoRA merge). */
export type Layout =
  | { kind: 'as-is' }
  | { kind: 'transpose' }
  /** convert_hf_to_gguf.py's LlamaModel.permute over the rows (the output features). */
  | { kind: 'permute'; heads: number };

export interface TensorPlan {
  readonly gguf: string;
  /** The checkpoint's tensor name (null for tensors computed from the config, e.g. rope_freqs). */
  readonly hf: string | null;
  /** PyTorch-order shape of the checkpoint tensor. */
  readonly hfShape: readonly number[];
  readonly layout: Layout;
  /** The LoRA-able module this weight belongs to (for merging and for gguf-lora). */
  readonly lora?: { readonly layer: number; readonly module: ModuleId };
}

/** Finds the checkpoint's spelling of a name: with or without the `model.` / `transformer.` prefix. */
export type NameResolver = (name: string) => string | null;

/** The GGUF tensor name of a LoRA-able module (gguf-lora names its factors after it). */
export function ggufModuleName(cfg: ModelConfig, layer: number, module: ModuleId): string {
  const names: Record<ModuleId, string> = {
    'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k', 'self_attn.v_proj': 'attn_v', 'self_attn.o_proj': 'attn_output',
    'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down',
    'attn.c_attn': 'attn_qkv', 'attn.c_proj': 'attn_output', 'mlp.c_fc': 'ffn_up', 'mlp.c_proj': 'ffn_down',
  };
  if ((archSpec(cfg.arch).gguf.blocks === 'gpt2') !== module.includes('c_')) throw new Error(`module ${module} does not belong to ${cfg.arch}`);
  return `blk.${layer}.${names[module]}.weight`;
}

/** The permutation of Llama's q/k rows (as `gguf row i ← hf row perm[i]`), for `heads` heads. */
export function llamaPermutation(rows: number, heads: number): Int32Array {
  const half = rows / heads / 2;
  if (!Number.isInteger(half)) throw new RangeError(`cannot permute ${rows} rows over ${heads} heads`);
  const perm = new Int32Array(rows);
  // reshape(heads, 2, half) → swapaxes(1, 2): gguf (h, j, s) ← hf (h, s, j).
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) for (let s = 0; s < 2; s++) perm[h * 2 * half + j * 2 + s] = h * 2 * half + s * half + j;
  }
  return perm;
}

/** Applies a layout to row-major values of `shape`; returns the new values and shape. */
export function applyLayout(x: Float32Array, shape: readonly number[], layout: Layout): { data: Float32Array; shape: number[] } {
  if (layout.kind === 'as-is') return { data: x, shape: [...shape] };
  const rows = shape[0]!;
  const cols = shape.length > 1 ? shape[1]! : 1;
  const out = new Float32Array(x.length);
  if (layout.kind === 'transpose') {
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
    return { data: out, shape: [cols, rows] };
  }
  const perm = llamaPermutation(rows, layout.heads);
  for (let r = 0; r < rows; r++) out.set(x.subarray(perm[r]! * cols, (perm[r]! + 1) * cols), r * cols);
  return { data: out, shape: [...shape] };
}

function llamaPlans(cfg: ModelConfig, find: NameResolver, file: string): TensorPlan[] {
  const { hidden: d, heads, kvHeads, headDim, intermediate: ffn, vocabSize } = cfg;
  const need = (name: string): string => {
    const hf = find(name);
    if (!hf) throw new InputError(file, `tensor "${name}" is missing`);
    return hf;
  };
  const permute = archSpec(cfg.arch).gguf.permuteQK;
  const plans: TensorPlan[] = [{ gguf: 'token_embd.weight', hf: need('embed_tokens.weight'), hfShape: [vocabSize, d], layout: { kind: 'as-is' } }];
  for (let l = 0; l < cfg.layers; l++) {
    const p = `layers.${l}`;
    const b = `blk.${l}`;
    const proj = (module: ModuleId, gguf: string, out: number, inF: number, heads?: number, bias = false): void => {
      const layout: Layout = permute && heads ? { kind: 'permute', heads } : { kind: 'as-is' };
      plans.push({ gguf: `${b}.${gguf}.weight`, hf: need(`${p}.${module}.weight`), hfShape: [out, inF], layout, lora: { layer: l, module } });
      if (bias) plans.push({ gguf: `${b}.${gguf}.bias`, hf: need(`${p}.${module}.bias`), hfShape: [out], layout });
    };
    plans.push({ gguf: `${b}.attn_norm.weight`, hf: need(`${p}.input_layernorm.weight`), hfShape: [d], layout: { kind: 'as-is' } });
    proj('self_attn.q_proj', 'attn_q', heads * headDim, d, heads, cfg.attentionBias);
    proj('self_attn.k_proj', 'attn_k', kvHeads * headDim, d, kvHeads, cfg.attentionBias);
    if (cfg.qkNorm) {
      plans.push({ gguf: `${b}.attn_q_norm.weight`, hf: need(`${p}.self_attn.q_norm.weight`), hfShape: [headDim], layout: { kind: 'as-is' } });
      plans.push({ gguf: `${b}.attn_k_norm.weight`, hf: need(`${p}.self_attn.k_norm.weight`), hfShape: [headDim], layout: { kind: 'as-is' } });
    }
    proj('self_attn.v_proj', 'attn_v', kvHeads * headDim, d, undefined, cfg.attentionBias);
    proj('self_attn.o_proj', 'attn_output', d, heads * headDim, undefined, cfg.oBias);
    plans.push({ gguf: `${b}.ffn_norm.weight`, hf: need(`${p}.post_attention_layernorm.weight`), hfShape: [d], layout: { kind: 'as-is' } });
    proj('mlp.gate_proj', 'ffn_gate', ffn, d);
    proj('mlp.up_proj', 'ffn_up', ffn, d);
    proj('mlp.down_proj', 'ffn_down', d, ffn);
  }
  plans.push({ gguf: 'output_norm.weight', hf: need('norm.weight'), hfShape: [d], layout: { kind: 'as-is' } });
  if (!cfg.tiedEmbeddings) plans.push({ gguf: 'output.weight', hf: need('lm_head.weight'), hfShape: [vocabSize, d], layout: { kind: 'as-is' } });
  if (cfg.rope?.type === 'llama3') plans.push({ gguf: 'rope_freqs.weight', hf: null, hfShape: [headDim / 2], layout: { kind: 'as-is' } });
  return plans;
}

function gpt2Plans(cfg: ModelConfig, find: NameResolver, file: string): TensorPlan[] {
  const { hidden: d, intermediate: ffn } = cfg;
  const need = (name: string): string => {
    const hf = find(name);
    if (!hf) throw new InputError(file, `tensor "${name}" is missing`);
    return hf;
  };
  const asIs: Layout = { kind: 'as-is' };
  const plans: TensorPlan[] = [
    { gguf: 'token_embd.weight', hf: need('wte.weight'), hfShape: [cfg.vocabSize, d], layout: asIs },
    { gguf: 'position_embd.weight', hf: need('wpe.weight'), hfShape: [cfg.maxPositions, d], layout: asIs },
  ];
  for (let l = 0; l < cfg.layers; l++) {
    const p = `h.${l}`;
    const b = `blk.${l}`;
    const norm = (hf: string, gguf: string): void => {
      plans.push({ gguf: `${b}.${gguf}.weight`, hf: need(`${p}.${hf}.weight`), hfShape: [d], layout: asIs });
      plans.push({ gguf: `${b}.${gguf}.bias`, hf: need(`${p}.${hf}.bias`), hfShape: [d], layout: asIs });
    };
    const conv = (module: ModuleId, gguf: string, inF: number, out: number): void => {
      plans.push({ gguf: `${b}.${gguf}.weight`, hf: need(`${p}.${module}.weight`), hfShape: [inF, out], layout: { kind: 'transpose' },
        lora: { layer: l, module } });
      plans.push({ gguf: `${b}.${gguf}.bias`, hf: need(`${p}.${module}.bias`), hfShape: [out], layout: asIs });
    };
    norm('ln_1', 'attn_norm');
    conv('attn.c_attn', 'attn_qkv', d, 3 * d);
    conv('attn.c_proj', 'attn_output', d, d);
    norm('ln_2', 'ffn_norm');
    conv('mlp.c_fc', 'ffn_up', d, ffn);
    conv('mlp.c_proj', 'ffn_down', ffn, d);
  }
  plans.push({ gguf: 'output_norm.weight', hf: need('ln_f.weight'), hfShape: [d], layout: asIs });
  plans.push({ gguf: 'output_norm.bias', hf: need('ln_f.bias'), hfShape: [d], layout: asIs });
  if (!cfg.tiedEmbeddings) plans.push({ gguf: 'output.weight', hf: need('lm_head.weight'), hfShape: [cfg.vocabSize, d], layout: asIs });
  return plans;
}

/** Every tensor of the GGUF file, in llama.cpp's order, with where its values come from. */
export function tensorPlans(cfg: ModelConfig, find: NameResolver, file: string): TensorPlan[] {
  const gguf = archSpec(cfg.arch).gguf;
  const unsupported = gguf.unsupported(cfg);
  if (unsupported) throw new InputError(file, unsupported[1], unsupported[0]);
  return gguf.blocks === 'gpt2' ? gpt2Plans(cfg, find, file) : llamaPlans(cfg, find, file);
}

/** A resolver over checkpoint names: `layers.0.x` matches `model.layers.0.x`, `transformer.h.0.x` or itself. */
export function nameResolver(names: Iterable<string>): NameResolver {
  const set = new Set(names);
  return (name) => {
    for (const candidate of [`model.${name}`, `transformer.${name}`, name]) if (set.has(candidate)) return candidate;
    return null;
  };
}

/**
 * llama3 RoPE as convert_hf_to_gguf.py writes it: a `rope_freqs` tensor of per-frequency divisors
 * (1 for short wavelengths, `factor` for long ones, interpolated between).
 */
export function llama3RopeFactors(cfg: ModelConfig): Float32Array {
  const rope = cfg.rope!;
  const dim = cfg.headDim;
  const factor = rope.factor ?? 8;
  const low = rope.lowFreqFactor ?? 1;
  const high = rope.highFreqFactor ?? 4;
  const old = rope.originalMaxPositions ?? 8192;
  const lowWavelen = old / low;
  const highWavelen = old / high;
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    const freq = Math.fround(1 / Math.fround(rope.theta ** Math.fround((2 * i) / dim)));
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = factor;
    else {
      const smooth = (old / wavelen - low) / (high - low);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}
