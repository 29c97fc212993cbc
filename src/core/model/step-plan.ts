import { Program } from '../gpu/program.ts';
import { tensorOf, type Tensor } from '../gpu/tensor.ts';
import { causalBounds } from '../kernels/attention.ts';
import { crossEntropyChunk, crossEntropyFinish, crossEntropyGrad, IGNORE_TARGET, shiftTargets, type LogitsChunk } from '../kernels/cross-entropy.ts';
import { matmul } from '../kernels/matmul.ts';
import { normBackward, normForward, statsPerRow } from '../kernels/norm.ts';
import { partialsFor, sumInto } from '../kernels/reduce.ts';
import { scaleRows } from '../kernels/row-scale.ts';
import { Slot, type StepState } from '../kernels/step-state.ts';
import type { GradScratch, LayerActs, TokenInputs, Transformer } from './transformer.ts';
import { keepsLogits, logitsChunkRows } from './logits-chunks.ts';
import { moeAuxForward } from './moe-block.ts';

/** Input words per token: id, position, target, query and key bounds (2 each), real-token flag. */
export const INPUT_WORDS = 8;

/** One micro-batch: B sequences of S tokens, row-major. */
export interface Batch {
  readonly ids: ArrayLike<number>;
  /** -100 where no loss is taken; the shift to next-token targets happens inside, as in transformers. */
  readonly labels: ArrayLike<number>;
  /** Packed-example number of each token; attention and positions restart where it changes. */
  readonly segments?: ArrayLike<number>;
  /** Real (non-padding) tokens at the start of each row, the rest being padding (default: all real). */
  readonly lengths?: ArrayLike<number>;
}

export interface PlanOptions {
  readonly batch: number;
  readonly seq: number;
  /** Record the backward too. */
  readonly train: boolean;
  /** Save only each layer's input and recompute its activations in the backward. */
  readonly checkpointing?: boolean;
  /** Keep every logit readable after the forward (tests, scoring); otherwise logits may be recomputed. */
  readonly keepLogits?: boolean;
  /** Weight each token's loss gradient by `tokenWeights[t]` (preference losses), with a loss scale of 1. */
  readonly tokenWeights?: boolean;
  /** Bytes of one logits chunk when the logits are not kept (default LOGITS_CHUNK_BYTES; tests make it small). */
  readonly logitsChunkBytes?: number;
}

/**
 * Everything one (batch, sequence) shape needs, allocated and recorded once: input buffers,
 * activations, and the forward and backward programs. A training step only uploads tokens and
 * replays these programs; nothing is created inside the step.
 */
export class StepPlan {
  readonly T: number;
  readonly inputs: TokenInputs;
  readonly forward = new Program('forward');
  readonly backward: Program | null;
  readonly rowLoss: Tensor;
  /** Per-token weights of the loss gradient, written by the caller before the backward. */
  readonly tokenWeights: Tensor | null;
  /** Vocabulary chunks of the logits; when `logitsKept`, they hold the logits after the forward. */
  readonly logits: LogitsChunk[] = [];
  readonly logitsKept: boolean;
  private readonly buffers: GPUBuffer[] = [];
  private readonly inputBuffer: GPUBuffer;

  private constructor(
    readonly model: Transformer,
    readonly opts: PlanOptions,
    readonly step: StepState,
  ) {
    const { gpu } = model;
    this.T = opts.batch * opts.seq;
    this.backward = opts.train ? new Program('backward') : null;
    const T = this.T;
    this.inputBuffer = gpu.pool.acquire(T * INPUT_WORDS * 4, 'inputs', 'tokens');
    const view = (offset: number, n: number) => tensorOf(this.inputBuffer, [n], offset);
    this.inputs = {
      ids: view(0, T), positions: view(T, T), targets: view(2 * T, T), qBounds: view(3 * T, 2 * T), kBounds: view(5 * T, 2 * T), real: view(7 * T, T),
    };
    this.rowLoss = this.alloc(T, 'row-loss');
    this.tokenWeights = opts.tokenWeights ? this.alloc(T, 'token-weights') : null;
    const V = model.cfg.vocabSize;
    this.logitsKept = keepsLogits(T, V, opts);
  }

  static async build(model: Transformer, opts: PlanOptions, step: StepState): Promise<StepPlan> {
    const plan = new StepPlan(model, opts, step);
    try {
      await plan.record();
    } catch (e) {
      plan.destroy();
      throw e;
    }
    return plan;
  }

  alloc(elements: number, label: string): Tensor {
    const b = this.model.gpu.pool.acquire(Math.max(1, elements) * 4, 'activations', label);
    this.buffers.push(b);
    return tensorOf(b, [elements]);
  }

  private async record(): Promise<void> {
    const { model, opts, T } = this;
    const { gpu, cfg, d } = model;
    const S = opts.seq;
    const L = cfg.layers;
    const alloc = (n: number, label: string) => this.alloc(n, label);
    const xs = Array.from({ length: L + 1 }, (_, i) => this.alloc(T * d.H, `x${i}`));
    const shared = opts.checkpointing || !opts.train ? model.allocLayerActs(T, alloc) : null;
    const acts: LayerActs[] = Array.from({ length: L }, () => shared ?? model.allocLayerActs(T, alloc));
    const dropScratch = opts.train && model.lora && model.lora.settings.dropout > 0 ? this.alloc(T * Math.max(d.H, d.qDim, d.inner), 'dropout') : null;
    const step = opts.train ? this.step : null;

    const layerPrograms: Program[] = [];
    await model.embed(this.forward, T, this.inputs, xs[0]!);
    for (let l = 0; l < L; l++) {
      const lp = new Program(`layer ${l}`);
      await model.layerForward(lp, l, T, S, xs[l]!, xs[l + 1]!, acts[l]!, this.inputs, step, dropScratch);
      layerPrograms.push(lp);
      this.forward.append(lp);
    }

    // Final norm, LM head in vocabulary chunks, cross-entropy.
    const hf = this.alloc(T * d.H, 'h-final');
    const stf = this.alloc(T * statsPerRow(cfg.norm), 'st-final');
    const normF = model.norm('final', 0, T, xs[L]!, stf);
    await normForward(gpu, this.forward, normF, hf);
    const maxRows = logitsChunkRows(T, cfg.vocabSize, gpu.limits.maxStorageBufferBindingSize, this.logitsKept, opts.logitsChunkBytes);
    const heads = model.tableChunks(model.headPrefix());
    const scratch = this.logitsKept ? null : this.alloc(T * Math.min(maxRows, Math.max(...heads.map((h) => h.rows))), 'logits');
    const subs: { c: LogitsChunk; w: Tensor; row: number; chunk: number }[] = [];
    heads.forEach((h, chunk) => {
      for (let row = 0; row < h.rows; row += maxRows) {
        const Vc = Math.min(maxRows, h.rows - row);
        const logits = scratch ?? this.alloc(T * Vc, 'logits');
        const c = { logits, v0: h.rowStart + row, Vc };
        subs.push({ c, w: { ...h.table, offset: h.table.offset + row * d.H }, row, chunk });
        this.logits.push(c);
      }
    });
    const stats = this.alloc(T * 3, 'ce-stats');
    for (const [i, s] of subs.entries()) {
      await matmul(gpu, this.forward, { a: hf, b: s.w, transB: true, c: s.c.logits, M: T, N: s.c.Vc, K: d.H });
      await crossEntropyChunk(gpu, this.forward, T, s.c, this.inputs.targets, stats, i === 0);
    }
    await crossEntropyFinish(gpu, this.forward, T, this.inputs.targets, stats, this.rowLoss);
    const partials = this.alloc(partialsFor([T]), 'loss-partials');
    await sumInto(gpu, this.forward, [{ x: this.rowLoss, n: T }], partials, this.step.tensor, Slot.lossSum, { accumulate: true });
    if (opts.train && cfg.moe) await moeAuxForward(model, this.forward, T, acts[L - 1]!, this.inputs, this.step);
    if (!this.backward) return;

    // Backward: the head, then the layers in reverse, then the embedding.
    const bw = this.backward;
    const g: GradScratch = model.allocGradScratch(T, alloc);
    const headGrads = model.headGrads();
    for (const [i, s] of subs.entries()) {
      if (!this.logitsKept) await matmul(gpu, bw, { a: hf, b: s.w, transB: true, c: s.c.logits, M: T, N: s.c.Vc, K: d.H });
      await crossEntropyGrad(gpu, bw, T, s.c, this.inputs.targets, stats, this.step.tensor);
      if (this.tokenWeights) await scaleRows(gpu, bw, T, s.c, this.tokenWeights);
      await matmul(gpu, bw, { a: s.c.logits, b: s.w, c: g.dh, M: T, N: d.H, K: s.c.Vc, beta: i === 0 ? 0 : 1 });
      if (headGrads) {
        const dw = headGrads[s.chunk]!.table;
        await matmul(gpu, bw, { a: s.c.logits, transA: true, b: hf, c: { ...dw, offset: dw.offset + s.row * d.H }, M: s.c.Vc, N: d.H, K: T, beta: 1 });
      }
    }
    await normBackward(gpu, bw, normF, g.dh, g.dres, false);
    await model.normParamGrad(bw, 'final', 0, normF, g.dh);
    for (let l = L - 1; l >= 0 && model.backwardReaches(l); l--) {
      if (opts.checkpointing) bw.append(layerPrograms[l]!);
      await model.layerBackward(bw, l, T, S, xs[l]!, acts[l]!, g, this.inputs, step);
    }
    await model.embedBackward(bw, T, this.inputs, g.dres);
  }

  /** Writes one micro-batch's tokens; returns the number of target tokens (the loss denominator). */
  upload(batch: Batch): number {
    const { data, targets } = this.encode(batch);
    this.write(data);
    return targets;
  }

  write(data: Uint32Array): void {
    this.model.gpu.write(this.inputBuffer, data);
  }

  /**
   * The input words of one micro-batch (ids, positions, next-token targets, attention bounds, the
   * padding mask) and its number of target tokens. Throws on ids outside the vocabulary, positions
   * past the limit or row lengths outside 0..S.
   */
  encode(batch: Batch): { data: Uint32Array; targets: number } {
    const { T } = this;
    const S = this.opts.seq;
    const { vocabSize, maxPositions } = this.model.cfg;
    if (batch.ids.length !== T || batch.labels.length !== T) throw new Error(`batch holds ${batch.ids.length} tokens, the plan ${T}`);
    const data = new Uint32Array(T * INPUT_WORDS);
    const segments = batch.segments ?? new Uint32Array(T);
    const shifted = shiftTargets(batch.labels, S, segments);
    let targets = 0;
    let pos = 0;
    for (let t = 0; t < T; t++) {
      const id = batch.ids[t]!;
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new RangeError(`token id ${id} at position ${t} is outside the vocabulary (${vocabSize})`);
      data[t] = id;
      const s = t % S;
      pos = s === 0 || segments[t] !== segments[t - 1] ? 0 : pos + 1;
      if (pos >= maxPositions) throw new RangeError(`sequence position ${pos} exceeds the model's ${maxPositions} positions`);
      data[T + t] = pos;
      const label = shifted[t]!;
      const valid = label !== IGNORE_TARGET;
      if (valid && label >= vocabSize) throw new RangeError(`label ${label} at position ${t + 1} is outside the vocabulary (${vocabSize})`);
      data[2 * T + t] = label;
      if (valid) targets++;
    }
    const { query, key } = causalBounds(S, segments);
    data.set(query, 3 * T);
    data.set(key, 5 * T);
    data.set(realMask(T, S, batch.lengths), 7 * T);
    return { data, targets };
  }

  destroy(): void {
    const { gpu } = this.model;
    for (const b of this.buffers) gpu.pool.release(b);
    gpu.pool.release(this.inputBuffer);
  }
}

/** 1 for the first lengths[b] tokens of row b, 0 for its padding; all 1 without lengths. */
function realMask(T: number, S: number, lengths: ArrayLike<number> | undefined): Uint32Array {
  const mask = new Uint32Array(T).fill(1);
  if (!lengths) return mask;
  if (lengths.length !== T / S) throw new Error(`batch gives ${lengths.length} row lengths for ${T / S} rows`);
  for (let b = 0; b < lengths.length; b++) {
    const n = lengths[b]!;
    if (!Number.isInteger(n) || n < 0 || n > S) throw new RangeError(`row ${b} has a real length of ${n}, outside 0..${S}`);
    mask.fill(0, b * S + n, (b + 1) * S);
  }
  return mask;
}
