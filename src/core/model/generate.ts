import { Program } from '../gpu/program.ts';
import { tensorOf, type Tensor } from '../gpu/tensor.ts';
import { attentionForward, kvAppend } from '../kernels/attention.ts';
import { matmul } from '../kernels/matmul.ts';
import { normForward, statsPerRow } from '../kernels/norm.ts';
import { Rng } from '../rng.ts';
import { applyRepetitionPenalty, logSoftmax, sampleToken, type SamplingOptions } from './sampling.ts';
import type { LayerActs, Transformer } from './transformer.ts';

export interface GenerateOptions extends SamplingOptions {
  readonly maxNewTokens: number;
  /** Token ids that end generation (the model's eos ids are added unless `ignoreEos`). */
  readonly stopTokens?: readonly number[];
  readonly ignoreEos?: boolean;
  readonly seed?: number;
  /** Apply the LoRA adapter (when one is attached). */
  readonly useAdapter?: boolean;
  /** Called with each new token as soon as it is chosen, with its log-probability and the entropy. */
  readonly onToken?: (id: number, logprob: number, entropy: number) => void;
  readonly signal?: AbortSignal;
}

export interface Generation {
  readonly ids: number[];
  /** log p(token) under the model (temperature 1, before top-k/top-p) for each generated token. */
  readonly logprobs: number[];
  /** Entropy (nats) of the next-token distribution at each step. */
  readonly entropies: number[];
  readonly stopReason: 'stop-token' | 'length' | 'aborted';
}

/** Recorded forward for n new tokens against the KV cache. */
interface DecodePlan {
  readonly n: number;
  readonly program: Program;
  readonly inputs: GPUBuffer;
  readonly logits: Tensor;
}

/**
 * KV-cached generation. Each layer keeps K and V for every position seen so far; a step runs the
 * new tokens only (the whole prompt at once, then one token at a time) and reads back the last
 * position's logits for sampling on the CPU.
 */
export class Generator {
  private caches: { k: Tensor; v: Tensor }[] = [];
  private capacity = 0;
  private readonly plans = new Map<string, DecodePlan>();
  private readonly buffers: GPUBuffer[] = [];

  constructor(readonly model: Transformer) {}

  async generate(prompt: readonly number[], o: GenerateOptions): Promise<Generation> {
    const { cfg } = this.model;
    if (prompt.length === 0) throw new Error('generate: the prompt is empty');
    const total = prompt.length + o.maxNewTokens;
    if (total > cfg.maxPositions) {
      throw new RangeError(
        `prompt (${prompt.length}) + max new tokens (${o.maxNewTokens}) exceed the model's ${cfg.maxPositions} positions`,
      );
    }
    for (const id of prompt) if (id < 0 || id >= cfg.vocabSize) throw new RangeError(`prompt token ${id} is outside the vocabulary (${cfg.vocabSize})`);
    this.trim();
    this.ensureCapacity(total);
    const useAdapter = o.useAdapter ?? true;
    const stops = new Set([...(o.stopTokens ?? []), ...(o.ignoreEos ? [] : cfg.eosTokenIds)]);
    const rng = new Rng(o.seed ?? 0);
    const seen = [...prompt];
    const out: Generation = { ids: [], logprobs: [], entropies: [], stopReason: 'length' };
    let logits = await this.step(prompt, 0, useAdapter);
    for (let i = 0; i < o.maxNewTokens; i++) {
      if (o.signal?.aborted) return { ...out, stopReason: 'aborted' };
      const { logp, entropy } = logSoftmax(logits);
      applyRepetitionPenalty(logits, seen, o.repetitionPenalty ?? 1);
      const id = sampleToken(logits, o, rng);
      out.ids.push(id);
      out.logprobs.push(logp[id]!);
      out.entropies.push(entropy);
      seen.push(id);
      o.onToken?.(id, logp[id]!, entropy);
      if (stops.has(id)) return { ...out, stopReason: 'stop-token' };
      if (i + 1 < o.maxNewTokens) logits = await this.step([id], prompt.length + i, useAdapter);
    }
    return out;
  }

  /** Runs `ids` at positions start.. and returns the logits of the last one. */
  private async step(ids: readonly number[], start: number, useAdapter: boolean): Promise<Float32Array> {
    const { gpu } = this.model;
    const plan = await this.plan(ids.length, useAdapter);
    const n = ids.length;
    const data = new Uint32Array(4 * n);
    for (let t = 0; t < n; t++) {
      data[t] = ids[t]!;
      data[n + t] = start + t;
      data[2 * n + 2 * t] = 0;
      data[2 * n + 2 * t + 1] = start + t;
    }
    gpu.write(plan.inputs, data);
    gpu.run(plan.program);
    return gpu.readF32(plan.logits.buffer, 0, this.model.cfg.vocabSize);
  }

  private ensureCapacity(total: number): void {
    if (total <= this.capacity) return;
    const { gpu, d, cfg } = this.model;
    this.destroyPlans();
    for (const c of this.caches) {
      gpu.destroyBuffer(c.k.buffer);
      gpu.destroyBuffer(c.v.buffer);
    }
    this.capacity = Math.min(cfg.maxPositions, Math.ceil(total / 256) * 256);
    const make = (label: string) => tensorOf(gpu.createBuffer(this.capacity * d.kvDim * 4, 'kv-cache', label), [this.capacity, d.kvDim]);
    this.caches = Array.from({ length: cfg.layers }, (_, l) => ({ k: make(`k-cache ${l}`), v: make(`v-cache ${l}`) }));
  }

  private async plan(n: number, useAdapter: boolean): Promise<DecodePlan> {
    const key = `${n}:${useAdapter}`;
    const cached = this.plans.get(key);
    if (cached) return cached;
    const { gpu, d, cfg } = this.model;
    const model = this.model;
    const alloc = (elements: number, label: string) => {
      const b = gpu.pool.acquire(Math.max(1, elements) * 4, 'activations', label);
      this.buffers.push(b);
      return tensorOf(b, [elements]);
    };
    const inputs = gpu.pool.acquire(4 * n * 4, 'inputs', `decode ${n}`);
    this.buffers.push(inputs);
    const view = (offset: number, len: number) => tensorOf(inputs, [len], offset);
    const tokenInputs = { ids: view(0, n), positions: view(n, n), targets: view(0, n), qBounds: view(2 * n, 2 * n), kBounds: view(2 * n, 2 * n) };
    const acts: LayerActs = model.allocLayerActs(n, alloc);
    const xs = [alloc(n * d.H, 'x-a'), alloc(n * d.H, 'x-b')];
    const p = new Program(`decode ${n}`);
    const saved = model.lora;
    if (!useAdapter) model.lora = null;
    try {
      await model.embed(p, n, tokenInputs, xs[0]!);
      for (let l = 0; l < cfg.layers; l++) {
        await model.layerForward(p, l, n, n, xs[l % 2]!, xs[(l + 1) % 2]!, acts, tokenInputs, null, null, async (prog, layer, a) => {
          const cache = this.caches[layer]!;
          await kvAppend(gpu, prog, a.qkv, d.qkvDim, d.qDim, d.qDim + d.kvDim, n, d.kvDim, cache.k, cache.v, tokenInputs.positions);
          await attentionForward(gpu, prog, {
            T: n, Sq: n, Sk: this.capacity, heads: d.heads, kvHeads: d.kvHeads, headDim: d.headDim,
            q: { t: a.qkv, stride: d.qkvDim }, k: { t: cache.k, stride: d.kvDim }, v: { t: cache.v, stride: d.kvDim },
            o: { t: a.att, stride: d.qDim }, lse: a.lse, bounds: model.queryBounds(layer, n, tokenInputs, a), scale: cfg.attentionScale,
          });
        });
      }
    } finally {
      model.lora = saved;
    }
    const last = xs[cfg.layers % 2]!;
    const hf = alloc(n * d.H, 'h-final');
    await normForward(gpu, p, model.norm('final', 0, n, last, alloc(n * statsPerRow(cfg.norm), 'st-final')), hf);
    const logits = alloc(cfg.vocabSize, 'logits');
    for (const c of model.tableChunks(model.headPrefix())) {
      await matmul(gpu, p, { a: { ...hf, offset: (n - 1) * d.H }, b: c.table, transB: true, c: { ...logits, offset: c.rowStart }, M: 1, N: c.rows, K: d.H });
    }
    const plan = { n, program: p, inputs, logits };
    this.plans.set(key, plan);
    return plan;
  }

  private destroyPlans(): void {
    for (const b of this.buffers) this.model.gpu.pool.release(b);
    this.buffers.length = 0;
    this.plans.clear();
  }

  /** Frees the plans of prompt lengths (kept: single-token decoding). */
  trim(): void {
    if (this.plans.size > 4) this.destroyPlans();
  }

  destroy(): void {
    this.destroyPlans();
    for (const c of this.caches) {
      this.model.gpu.destroyBuffer(c.k.buffer);
      this.model.gpu.destroyBuffer(c.v.buffer);
    }
    this.caches = [];
    this.capacity = 0;
  }
}
