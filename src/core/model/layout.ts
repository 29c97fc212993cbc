import type { ModelConfig } from './config.ts';
import type { ParamSpec } from './param-store.ts';

/**
 * tabtune's on-GPU parameter layout and its mapping to Hugging Face tensor names.
 *
 * Every linear weight is stored [out, in] (nn.Linear), so GPT-2's Conv1D weights are transposed on
 * load. Projections that read the same input are fused: q|k|v into `qkv` (GPT-2's c_attn already
 * is) and Llama's gate|up into `up`, so each runs as one matmul. Embedding and LM-head tables are
 * split into row chunks that fit one storage binding.
 */

export interface Dims {
  readonly H: number;
  readonly V: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly qDim: number;
  readonly kvDim: number;
  /** Width of the fused q|k|v row. */
  readonly qkvDim: number;
  readonly inner: number;
  /** Width of the fused up projection: gate|up (2·inner) for SwiGLU, inner for GPT-2. */
  readonly upDim: number;
  readonly gated: boolean;
}

export function dims(cfg: ModelConfig): Dims {
  const qDim = cfg.heads * cfg.headDim;
  const kvDim = cfg.kvHeads * cfg.headDim;
  const gated = cfg.act === 'silu';
  return {
    H: cfg.hidden, V: cfg.vocabSize, heads: cfg.heads, kvHeads: cfg.kvHeads, headDim: cfg.headDim,
    qDim, kvDim, qkvDim: qDim + 2 * kvDim, inner: cfg.intermediate, upDim: gated ? 2 * cfg.intermediate : cfg.intermediate, gated,
  };
}

/** Row ranges of the vocabulary chunks: each chunk's [rows, H] table fits `maxElements`. */
export function vocabChunks(V: number, H: number, maxElements: number): { start: number; rows: number }[] {
  const per = Math.max(1, Math.floor(maxElements / H));
  const out: { start: number; rows: number }[] = [];
  for (let start = 0; start < V; start += per) out.push({ start, rows: Math.min(per, V - start) });
  return out;
}

export const layerParam = (i: number, name: string): string => `layers.${i}.${name}`;

/** The linear weights that a quantised base holds quantised (embeddings and norms stay f32). */
export const LINEAR_SITES = ['qkv', 'o', 'up', 'down'] as const;

/** Every parameter of the model in tabtune's layout (base-quant.ts swaps linear weights for quantised ones). */
export function paramSpecs(cfg: ModelConfig, chunks: readonly { start: number; rows: number }[]): ParamSpec[] {
  const d = dims(cfg);
  const specs: ParamSpec[] = chunks.map((c, i) => ({ name: `embed.${i}`, shape: [c.rows, d.H], decay: true }));
  if (cfg.arch === 'gpt2') specs.push({ name: 'pos', shape: [cfg.maxPositions, d.H], decay: true });
  const ln = cfg.norm === 'layernorm';
  for (let i = 0; i < cfg.layers; i++) {
    const L = (name: string, shape: number[], decay: boolean) => specs.push({ name: layerParam(i, name), shape, decay });
    L('ln1.weight', [d.H], false);
    if (ln) L('ln1.bias', [d.H], false);
    L('qkv.weight', [d.qkvDim, d.H], true);
    if (cfg.attentionBias) L('qkv.bias', [d.qkvDim], false);
    L('o.weight', [d.H, d.qDim], true);
    if (cfg.oBias) L('o.bias', [d.H], false);
    L('ln2.weight', [d.H], false);
    if (ln) L('ln2.bias', [d.H], false);
    L('up.weight', [d.upDim, d.H], true);
    if (cfg.mlpBias) L('up.bias', [d.upDim], false);
    L('down.weight', [d.H, d.inner], true);
    if (cfg.mlpBias) L('down.bias', [d.H], false);
  }
  specs.push({ name: 'norm.weight', shape: [d.H], decay: false });
  if (ln) specs.push({ name: 'norm.bias', shape: [d.H], decay: false });
  if (!cfg.tiedEmbeddings) chunks.forEach((c, i) => specs.push({ name: `head.${i}`, shape: [c.rows, d.H], decay: true }));
  return specs;
}

/** Where the elements of one Hugging Face tensor live among tabtune's parameters. */
export interface Placement {
  /** Name without the `model.`/`transformer.` prefix. */
  readonly hf: string;
  readonly shape: readonly number[];
  /** Conv1D: the HF tensor [a, b] is the transpose of the parameter [b, a]. */
  readonly transpose: boolean;
  readonly parts: readonly { param: string; hfOffset: number; paramOffset: number; count: number }[];
  /** True for tensors whose file prefix is `model.`/`transformer.` (all but lm_head). */
  readonly inBody: boolean;
}

export function placements(cfg: ModelConfig, chunks: readonly { start: number; rows: number }[]): Placement[] {
  const d = dims(cfg);
  const out: Placement[] = [];
  const whole = (hf: string, shape: number[], param: string, transpose = false, inBody = true) =>
    out.push({ hf, shape, transpose, inBody, parts: [{ param, hfOffset: 0, paramOffset: 0, count: shape.reduce((a, b) => a * b, 1) }] });
  const table = (hf: string, prefix: string, inBody: boolean) =>
    out.push({
      hf, shape: [d.V, d.H], transpose: false, inBody,
      parts: chunks.map((c, i) => ({ param: `${prefix}.${i}`, hfOffset: c.start * d.H, paramOffset: 0, count: c.rows * d.H })),
    });
  /** Consecutive row blocks of one fused parameter, each an HF tensor. */
  const stacked = (param: string, blocks: { hf: string; rows: number }[], cols: number) => {
    let row = 0;
    for (const b of blocks) {
      const shape = cols === 1 ? [b.rows] : [b.rows, cols];
      out.push({ hf: b.hf, shape, transpose: false, inBody: true, parts: [{ param, hfOffset: 0, paramOffset: row * cols, count: b.rows * cols }] });
      row += b.rows;
    }
  };

  if (cfg.arch === 'gpt2') {
    table('wte.weight', 'embed', true);
    whole('wpe.weight', [cfg.maxPositions, d.H], 'pos');
    for (let i = 0; i < cfg.layers; i++) {
      const h = `h.${i}`;
      const p = (n: string) => layerParam(i, n);
      whole(`${h}.ln_1.weight`, [d.H], p('ln1.weight'));
      whole(`${h}.ln_1.bias`, [d.H], p('ln1.bias'));
      whole(`${h}.attn.c_attn.weight`, [d.H, d.qkvDim], p('qkv.weight'), true);
      whole(`${h}.attn.c_attn.bias`, [d.qkvDim], p('qkv.bias'));
      whole(`${h}.attn.c_proj.weight`, [d.qDim, d.H], p('o.weight'), true);
      whole(`${h}.attn.c_proj.bias`, [d.H], p('o.bias'));
      whole(`${h}.ln_2.weight`, [d.H], p('ln2.weight'));
      whole(`${h}.ln_2.bias`, [d.H], p('ln2.bias'));
      whole(`${h}.mlp.c_fc.weight`, [d.H, d.inner], p('up.weight'), true);
      whole(`${h}.mlp.c_fc.bias`, [d.inner], p('up.bias'));
      whole(`${h}.mlp.c_proj.weight`, [d.inner, d.H], p('down.weight'), true);
      whole(`${h}.mlp.c_proj.bias`, [d.H], p('down.bias'));
    }
    whole('ln_f.weight', [d.H], 'norm.weight');
    whole('ln_f.bias', [d.H], 'norm.bias');
    return out;
  }

  table('embed_tokens.weight', 'embed', true);
  for (let i = 0; i < cfg.layers; i++) {
    const l = `layers.${i}`;
    const p = (n: string) => layerParam(i, n);
    whole(`${l}.input_layernorm.weight`, [d.H], p('ln1.weight'));
    const qkv = [{ hf: 'q_proj', rows: d.qDim }, { hf: 'k_proj', rows: d.kvDim }, { hf: 'v_proj', rows: d.kvDim }];
    stacked(p('qkv.weight'), qkv.map((b) => ({ ...b, hf: `${l}.self_attn.${b.hf}.weight` })), d.H);
    if (cfg.attentionBias) stacked(p('qkv.bias'), qkv.map((b) => ({ ...b, hf: `${l}.self_attn.${b.hf}.bias` })), 1);
    whole(`${l}.self_attn.o_proj.weight`, [d.H, d.qDim], p('o.weight'));
    if (cfg.oBias) whole(`${l}.self_attn.o_proj.bias`, [d.H], p('o.bias'));
    whole(`${l}.post_attention_layernorm.weight`, [d.H], p('ln2.weight'));
    const gu = [{ hf: 'gate_proj', rows: d.inner }, { hf: 'up_proj', rows: d.inner }];
    stacked(p('up.weight'), gu.map((b) => ({ ...b, hf: `${l}.mlp.${b.hf}.weight` })), d.H);
    if (cfg.mlpBias) stacked(p('up.bias'), gu.map((b) => ({ ...b, hf: `${l}.mlp.${b.hf}.bias` })), 1);
    whole(`${l}.mlp.down_proj.weight`, [d.H, d.inner], p('down.weight'));
    if (cfg.mlpBias) whole(`${l}.mlp.down_proj.bias`, [d.H], p('down.bias'));
  }
  whole('norm.weight', [d.H], 'norm.weight');
  if (!cfg.tiedEmbeddings) table('lm_head.weight', 'head', false);
  return out;
}

/** The file prefix of body tensors. */
export const bodyPrefix = (cfg: ModelConfig): string => (cfg.arch === 'gpt2' ? 'transformer.' : 'model.');
