import type { BaseQuant } from './base-quant.ts';
import type { ModelConfig } from './config.ts';
import { dims } from './layout.ts';
import { estimateTrainingMemory } from './memory.ts';
import type { Precision, PrecisionChoice } from './precision.ts';

/** The WebGPU limits a run must respect (GPUSupportedLimits' names). */
export interface DeviceLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
}

export interface FitRequest {
  readonly cfg: ModelConfig;
  readonly method: 'lora' | 'full';
  readonly r: number;
  readonly loraModules: readonly { in: number; out: number }[];
  readonly loraDropout: number;
  /** A validation set is evaluated during the run. */
  readonly validation: boolean;
  /** Token counts of the training (and validation) examples, before any truncation. */
  readonly lengths: readonly number[];
  /** The longest row the user allows (`--max-seq-len`). */
  readonly maxSeqLen: number;
  /** Rows per optimizer step the user wants; the plan keeps it with gradient accumulation. */
  readonly batch: number;
  /** Bytes of GPU memory the run may use. */
  readonly budget: number;
  readonly limits: DeviceLimits;
  /** Base quantisations the plan may choose, in order of preference (LoRA only; default none, int8, int4). */
  readonly quants?: readonly BaseQuant[];
  /**
   * How an unquantised base may be held (default f32): auto is f16 where the adapter offers
   * shader-f16; f16 allows no quantised base (the two are exclusive, as the CLI's flags are).
   */
  readonly precision?: PrecisionChoice;
  /** The adapter offers shader-f16. */
  readonly shaderF16?: boolean;
  /** Full fine-tuning with frozen weights: bytes of the weights that train (memory.ts). */
  readonly trainedBytes?: number;
  /** ln1/ln2 are read through by their matmuls (model/normed-input.ts). */
  readonly normFused?: boolean;
}

export interface MemoryPlan {
  readonly fits: boolean;
  /** Rows per micro-batch, and micro-batches per optimizer step (batch × gradAccum ≥ the request's batch). */
  readonly batch: number;
  readonly gradAccum: number;
  readonly seq: number;
  readonly gradCheckpointing: boolean;
  readonly quant: BaseQuant;
  /** f16 when the unquantised base's linear weights are held as halves; a quantised base is f32 around its matmuls. */
  readonly precision: Precision;
  readonly estimate: number;
  readonly parts: Record<string, number>;
  /** The largest single activation buffer (checked against the binding and buffer limits). */
  readonly largestBuffer: number;
  /** Examples longer than `seq` (their ends are cut). */
  readonly truncated: number;
  /** Why each choice was made, one line each. */
  readonly reasons: readonly string[];
}

/** The plan keeps this share of the budget free: estimates land within about 1% of the measured peak, pools round up. */
const HEADROOM = 0.05;

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const roundUp8 = (n: number) => Math.ceil(n / 8) * 8;

/** Bytes of the widest buffer a step of T tokens allocates (step-plan.ts; logits are chunked to fit already). */
function largestBuffer(cfg: ModelConfig, T: number, method: 'lora' | 'full', dropout: number): number {
  const d = dims(cfg);
  const widths = [d.H, d.qkvDim, d.qDim, d.upDim, d.inner, 7];
  if (method === 'lora' && dropout > 0) widths.push(Math.max(d.H, d.qDim, d.inner));
  return T * Math.max(...widths) * 4;
}

/** How the base may be held, in order of preference: f32 or f16 (per the request), then int8, then NF4. */
function baseHoldings(req: FitRequest): { quant: BaseQuant; precision: Precision }[] {
  if (req.method === 'full') return [{ quant: 'none', precision: 'f32' }];
  const want = req.precision ?? 'f32';
  if (want === 'f16' && !req.shaderF16) throw new Error('precision f16 needs the WebGPU feature shader-f16, which this adapter does not offer');
  const unquantised: Precision = want === 'f16' || (want === 'auto' && req.shaderF16) ? 'f16' : 'f32';
  const quants = want === 'f16' ? (['none'] as const) : (req.quants ?? ['none', 'int8', 'int4']);
  return quants.map((quant) => ({ quant, precision: quant === 'none' ? unquantised : 'f32' }));
}

/** Row lengths to try, longest first: every example whole, then cuts that keep 99/95/90/75/50% of them whole. */
function seqCandidates(lengths: readonly number[], cap: number): number[] {
  const sorted = [...lengths].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 8;
  const out = [1, 0.99, 0.95, 0.9, 0.75, 0.5].map((q) => Math.min(cap, roundUp8(Math.max(2, at(q)))));
  // Then halves, down to 8 tokens, for devices where even the median example does not fit.
  for (let s = out.at(-1)!; s > 8; ) out.push((s = Math.max(8, roundUp8(Math.floor(s / 2)))));
  return [...new Set(out)].sort((x, y) => y - x);
}

/**
 * Chooses micro-batch, gradient accumulation, row length, activation recomputation and base
 * quantisation so a run fits the device: the first arrangement that fits in this order of cost,
 * (1) all rows whole before any truncation (it changes what is learnt), (2) an f32 base before
 * int8 before NF4 (each changes the base a little; f16 instead of f32 when the request's precision
 * says so), (3) no recomputation before recomputation (about 30% slower), (4) the largest
 * micro-batch (smaller ones are slower; accumulation keeps the optimizer's batch).
 */
export function planMemory(req: FitRequest): MemoryPlan {
  const cap = Math.min(req.maxSeqLen, req.cfg.maxPositions);
  const longest = roundUp8(Math.max(2, ...req.lengths));
  const seqs = seqCandidates(req.lengths, cap);
  const holdings = baseHoldings(req);
  const batches: number[] = [];
  for (let b = Math.max(1, req.batch); b >= 1; b = b === 1 ? 0 : Math.ceil(b / 2)) batches.push(b);
  const binding = Math.min(req.limits.maxStorageBufferBindingSize, req.limits.maxBufferSize);
  let best: MemoryPlan | null = null;
  for (const seq of seqs) {
    for (const { quant, precision } of holdings) {
      for (const gradCheckpointing of [false, true]) {
        for (const batch of batches) {
          const parts = estimateTrainingMemory(req.cfg, {
            method: req.method, batch, seq, r: req.r, loraModules: req.loraModules, loraDropout: req.loraDropout,
            gradCheckpointing, validation: req.validation, quant, precision, trainedBytes: req.trainedBytes, normFused: req.normFused,
          });
          const estimate = Object.values(parts).reduce((a, b) => a + b, 0);
          const widest = largestBuffer(req.cfg, batch * seq, req.method, req.loraDropout);
          const plan = {
            fits: estimate <= req.budget * (1 - HEADROOM) && widest <= binding, batch, gradAccum: Math.ceil(req.batch / batch), seq, gradCheckpointing, quant,
            precision, estimate, parts, largestBuffer: widest, truncated: req.lengths.filter((n) => n > seq).length, reasons: [],
          };
          if (plan.fits) return { ...plan, reasons: explain(req, plan, { longest, cap, binding }) };
          if (!best || estimate < best.estimate) best = plan;
        }
      }
    }
  }
  return { ...best!, reasons: explain(req, best!, { longest, cap, binding }) };
}

function explain(req: FitRequest, p: MemoryPlan, o: { longest: number; cap: number; binding: number }): string[] {
  const lines: string[] = [];
  const holdings = baseHoldings(req);
  const budget = `the ${mib(req.budget)} budget (${100 * HEADROOM}% kept free)`;
  if (!p.fits) {
    lines.push(`nothing fits ${budget} and the ${mib(o.binding)} binding limit: the smallest arrangement needs ${mib(p.estimate)}`);
    return lines;
  }
  lines.push(`estimate ${mib(p.estimate)} of ${budget} (weights ${mib(p.parts.weights!)}, activations ${mib(p.parts.activations!)}); ` +
    `largest buffer ${mib(p.largestBuffer)} of ${mib(o.binding)} allowed in one binding`);
  const whole = Math.min(o.longest, o.cap);
  lines.push(p.seq >= whole
    ? `sequence ${p.seq}: every example fits whole${o.longest > o.cap ? ` (at the ${o.cap}-token cap)` : ''}`
    : `sequence ${p.seq}: longer rows do not fit even with ${held(holdings.at(-1)!)}, recomputation and batch 1; ` +
      `${p.truncated} of ${req.lengths.length} examples are cut`);
  lines.push(req.method === 'full' ? 'full fine-tuning keeps the base f32 (neither a quantised nor an f16 base trains in full)' : baseLine(req, p, holdings));
  lines.push(p.gradCheckpointing ? 'activation recomputation on (~30% slower): the run did not fit without it' : 'no activation recomputation needed');
  lines.push(p.gradAccum > 1
    ? `micro-batch ${p.batch} × ${p.gradAccum} accumulation steps keeps the batch of ${req.batch} (a batch of ${req.batch} rows at once did not fit)`
    : `batch ${p.batch} fits at once`);
  return lines;
}

const held = (h: { quant: BaseQuant; precision: Precision }) => (h.quant === 'int4' ? 'NF4' : h.quant === 'int8' ? 'int8' : h.precision);

/** Why the base is held as it is: what the request allowed and what did not fit before it. */
function baseLine(req: FitRequest, p: MemoryPlan, holdings: readonly { quant: BaseQuant; precision: Precision }[]): string {
  const i = holdings.findIndex((h) => h.quant === p.quant);
  const failed = holdings.slice(0, i).map(held);
  const why = failed.length ? `: ${failed.join(' and ')} did not fit` : '';
  const want = req.precision ?? 'f32';
  const f16 = want === 'auto'
    ? (req.shaderF16 ? 'precision auto: f16 because the adapter offers shader-f16' : 'precision auto: f32 because the adapter lacks shader-f16')
    : `precision ${want} as asked`;
  if (p.quant === 'int4') return `the base is NF4 (QLoRA, one scale per 64 inputs)${why}`;
  if (p.quant === 'int8') return `the base is int8 (per-row scales)${why}`;
  return p.precision === 'f16'
    ? `the base's linear weights are f16 (half their memory; matmuls accumulate in f32; LoRA, norms, loss and optimizer stay f32); ${f16}`
    : `the base stays f32 (exact); ${f16}`;
}
