import type { BaseQuant } from './base-quant.ts';
import type { ModelConfig } from './config.ts';
import { dims } from './layout.ts';
import { estimateTrainingMemory } from './memory.ts';

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
}

export interface MemoryPlan {
  readonly fits: boolean;
  /** Rows per micro-batch, and micro-batches per optimizer step (batch × gradAccum ≥ the request's batch). */
  readonly batch: number;
  readonly gradAccum: number;
  readonly seq: number;
  readonly gradCheckpointing: boolean;
  readonly quant: BaseQuant;
  /** Only f32 compute exists in this engine so far; the plan never assumes f16. */
  readonly precision: 'f32';
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
 * int8 before NF4 (each changes the base a little), (3) no recomputation before recomputation
 * (about 30% slower), (4) the largest micro-batch (smaller ones are slower; accumulation keeps the
 * optimizer's batch). Precision is f32: the estimate does not size an f16-held base yet.
 */
export function planMemory(req: FitRequest): MemoryPlan {
  const cap = Math.min(req.maxSeqLen, req.cfg.maxPositions);
  const longest = roundUp8(Math.max(2, ...req.lengths));
  const seqs = seqCandidates(req.lengths, cap);
  const quants = req.method === 'full' ? (['none'] as const) : (req.quants ?? ['none', 'int8', 'int4']);
  const batches: number[] = [];
  for (let b = Math.max(1, req.batch); b >= 1; b = b === 1 ? 0 : Math.ceil(b / 2)) batches.push(b);
  const binding = Math.min(req.limits.maxStorageBufferBindingSize, req.limits.maxBufferSize);
  let best: MemoryPlan | null = null;
  for (const seq of seqs) {
    for (const quant of quants) {
      for (const gradCheckpointing of [false, true]) {
        for (const batch of batches) {
          const parts = estimateTrainingMemory(req.cfg, {
            method: req.method, batch, seq, r: req.r, loraModules: req.loraModules, loraDropout: req.loraDropout,
            gradCheckpointing, validation: req.validation, quant,
          });
          const estimate = Object.values(parts).reduce((a, b) => a + b, 0);
          const widest = largestBuffer(req.cfg, batch * seq, req.method, req.loraDropout);
          const plan = {
            fits: estimate <= req.budget * (1 - HEADROOM) && widest <= binding, batch, gradAccum: Math.ceil(req.batch / batch), seq, gradCheckpointing, quant,
            precision: 'f32' as const, estimate, parts, largestBuffer: widest, truncated: req.lengths.filter((n) => n > seq).length, reasons: [],
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
    : `sequence ${p.seq}: longer rows do not fit even with NF4, recomputation and batch 1; ${p.truncated} of ${req.lengths.length} examples are cut`);
  const q = {
    none: 'the base stays f32 (exact)', int8: 'the base is int8 (per-row scales): f32 did not fit',
    int4: 'the base is NF4 (QLoRA): f32 and int8 did not fit',
  };
  lines.push(req.method === 'full' ? 'full fine-tuning keeps the base f32 (a quantised base cannot train)' : q[p.quant]);
  lines.push(p.gradCheckpointing ? 'activation recomputation on (~30% slower): the run did not fit without it' : 'no activation recomputation needed');
  lines.push(p.gradAccum > 1
    ? `micro-batch ${p.batch} × ${p.gradAccum} accumulation steps keeps the batch of ${req.batch} (a batch of ${req.batch} rows at once did not fit)`
    : `batch ${p.batch} fits at once`);
  lines.push('precision f32 (the planner does not size an f16 base yet; --precision f16 halves the linear weights)');
  return lines;
}
