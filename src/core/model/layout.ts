import { archSpec } from './arch/index.ts';
import type { Dims, ModelConfig, Placement, PlacementBuilder } from './arch/types.ts';
import { layerParam } from './arch/param-names.ts';
import type { ParamSpec } from './param-store.ts';
import { moeParamSpecs } from './moe-layout.ts';
import { qkNormWidths } from './qk-norm.ts';

export type { Dims, Placement } from './arch/types.ts';
export { layerParam } from './arch/param-names.ts';

/**
 * tabtune's on-GPU parameter layout and its mapping to Hugging Face tensor names.
 *
 * Every linear weight is stored [out, in] (nn.Linear), so GPT-2's Conv1D weights are transposed on
 * load. Projections that read the same input are fused: q|k|v into `qkv` (GPT-2's c_attn already
 * is) and Llama's gate|up into `up`, so each runs as one matmul. Embedding and LM-head tables are
 * split into row chunks that fit one storage binding. Which HF tensor goes where is declared per
 * architecture (arch/*.ts `place`).
 */

export function dims(cfg: ModelConfig): Dims {
  const qDim = cfg.heads * cfg.headDim;
  const kvDim = cfg.kvHeads * cfg.headDim;
  const gated = cfg.act === 'silu' || cfg.gatedMlp === true;
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

/** The linear weights that a quantised base holds quantised (embeddings and norms stay f32). */
export const LINEAR_SITES = ['qkv', 'o', 'up', 'down'] as const;

/** Every parameter of the model in tabtune's layout (base-quant.ts swaps linear weights for quantised ones). */
export function paramSpecs(cfg: ModelConfig, chunks: readonly { start: number; rows: number }[]): ParamSpec[] {
  const d = dims(cfg);
  const specs: ParamSpec[] = chunks.map((c, i) => ({ name: `embed.${i}`, shape: [c.rows, d.H], decay: true }));
  if (cfg.learnedPositions) specs.push({ name: 'pos', shape: [cfg.maxPositions, d.H], decay: true });
  const ln = cfg.norm === 'layernorm';
  for (let i = 0; i < cfg.layers; i++) {
    const L = (name: string, shape: number[], decay: boolean) => specs.push({ name: layerParam(i, name), shape, decay });
    L('ln1.weight', [d.H], false);
    if (ln) L('ln1.bias', [d.H], false);
    L('qkv.weight', [d.qkvDim, d.H], true);
    if (cfg.attentionBias) L('qkv.bias', [d.qkvDim], false);
    if (cfg.qkNorm) {
      const [qw, kw] = qkNormWidths(cfg, d);
      L('q_norm.weight', [qw], false);
      L('k_norm.weight', [kw], false);
    }
    L('o.weight', [d.H, d.qDim], true);
    if (cfg.oBias) L('o.bias', [d.H], false);
    if (cfg.postNorms) L('post_attn_norm.weight', [d.H], false);
    L('ln2.weight', [d.H], false);
    if (ln) L('ln2.bias', [d.H], false);
    if (cfg.moe) {
      specs.push(...moeParamSpecs(cfg, i));
      continue;
    }
    L('up.weight', [d.upDim, d.H], true);
    if (cfg.mlpBias) L('up.bias', [d.upDim], false);
    L('down.weight', [d.H, d.inner], true);
    if (cfg.mlpBias) L('down.bias', [d.H], false);
    if (cfg.postNorms) L('post_mlp_norm.weight', [d.H], false);
  }
  specs.push({ name: 'norm.weight', shape: [d.H], decay: false });
  if (ln) specs.push({ name: 'norm.bias', shape: [d.H], decay: false });
  if (!cfg.tiedEmbeddings) chunks.forEach((c, i) => specs.push({ name: `head.${i}`, shape: [c.rows, d.H], decay: true }));
  return specs;
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

  archSpec(cfg.arch).place(cfg, d, { whole, table, stacked } satisfies PlacementBuilder);
  return out;
}

/** The file prefix of body tensors. */
export const bodyPrefix = (cfg: ModelConfig): string => archSpec(cfg.arch).bodyPrefix;
