import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import { tensorOf, type Tensor } from '../gpu/tensor.ts';
import { embeddingBackward, embeddingForward, type EmbeddingChunk } from '../kernels/embedding.ts';
import { normBackward, normForward, normParamGrads, normStats, type NormArgs } from '../kernels/norm.ts';
import { ropeTable } from '../kernels/rope.ts';
import type { StepState } from '../kernels/step-state.ts';
import { ropeParameters, type ModelConfig } from './config.ts';
import { linearInFeatures, quantizedLinear } from './base-quant.ts';
import { dims, layerParam, type Dims } from './layout.ts';
import type { LinearWeight, Mat } from './linear.ts';
import type { ExpertSite, LoraAdapter, LoraModule, Site } from './lora.ts';
import { isExpertSite, siteParam } from './moe-lora.ts';
import { allocMoeStats, moeBackward, moeForward } from './moe-block.ts';
import type { ParamStore } from './param-store.ts';
import { lowestTrainedLayer, trainedGradStore, type TrainsWeight } from './frozen-grads.ts';
import { halfWeight } from './precision.ts';
import { scaleInPlace } from '../kernels/scale.ts';
import { layerBounds, localRopeTable, isSliding } from './local-attention.ts';
import type { PostNormSite } from './post-norm.ts';
import type { ModelWeights } from './weights.ts';
import type { AdapterGate } from './adapter-gate.ts';
import { allocGradScratch, allocLayerActs, type GradScratch, type LayerActs, type TokenInputs } from './layer-buffers.ts';
import { loraBackward, loraForward, loraInput } from './lora-site.ts';
import { attentionBlockBackward, attentionBlockForward, type Attend } from './attention-block.ts';
import { mlpBlockBackward, mlpBlockForward } from './mlp-block.ts';
import { layerInput, normFuses } from './normed-input.ts';

export type { GradScratch, LayerActs, TokenInputs } from './layer-buffers.ts';
export type { Attend } from './attention-block.ts';

/**
 * The model on the GPU: configuration, base weights, an optional LoRA adapter, gradient storage
 * for whatever trains, and the recorders of each layer's forward and backward. Plans
 * (step-plan.ts, generate.ts) allocate buffers per shape and call these recorders once.
 */
export class Transformer {
  readonly d: Dims;
  readonly ropeTable: Tensor | null;
  /** RoPE of the sliding-window layers when it differs (Gemma 3's rope_local_base_freq). */
  readonly localRopeTable: Tensor | null;
  readonly ropePositions: number;
  /** Gradients of the trainable parameters (weights for full fine-tuning, the adapter for LoRA). */
  grads: ParamStore | null = null;
  /** Routing statistics of every MoE layer for the load-balancing loss (moe-block.ts). */
  readonly moeStats: Tensor | null;
  private trainFull = false;
  /** A learned gate over stacked adapters (adapter-gate.ts); `lora` is then its stacked adapter. */
  gate: AdapterGate | null = null;
  /** Full fine-tuning with frozen weights: the weights that train (the rest get no gradient work). */
  private trains: TrainsWeight | null = null;

  constructor(
    readonly gpu: Gpu,
    readonly cfg: ModelConfig,
    readonly weights: ModelWeights,
    public lora: LoraAdapter | null = null,
  ) {
    this.d = dims(cfg);
    this.moeStats = cfg.moe ? allocMoeStats(gpu, cfg.layers, cfg.moe) : null;
    if (cfg.rope) {
      const { invFreq, attentionScaling } = ropeParameters(cfg);
      this.ropePositions = cfg.maxPositions;
      this.ropeTable = tensorOf(gpu.upload(ropeTable(invFreq, cfg.maxPositions, attentionScaling), 'weights', 'rope-table'), [cfg.maxPositions, cfg.headDim]);
    } else {
      this.ropePositions = 0;
      this.ropeTable = null;
    }
    this.localRopeTable = localRopeTable(gpu, cfg);
  }

  get trainsFull(): boolean {
    return this.trainFull;
  }

  /**
   * Chooses what trains: 'full' (every weight, or those `trains` names), 'lora' (the adapter) or
   * 'none'; allocates gradients.
   */
  setTrainable(what: 'full' | 'lora' | 'none', trains?: TrainsWeight): void {
    this.grads?.destroy();
    this.grads = null;
    const quant = this.weights.quant;
    if (what === 'full' && quant !== 'none') throw new Error(`an ${quant} base trains with LoRA only (load the model in f32 for full fine-tuning)`);
    if (what === 'full' && this.weights.precision === 'f16') {
      throw new Error('an f16 base trains with LoRA only (full fine-tuning keeps f32 weights: --precision f32)');
    }
    this.trainFull = what === 'full';
    this.trains = what === 'full' && trains ? trains : null;
    if (what === 'full') {
      const store = this.weights.store;
      this.grads = this.trains ? trainedGradStore(this.gpu, store, this.trains) : store.mirror('gradients', 'grads');
    }
    if (what === 'lora') {
      if (!this.lora) throw new Error('no LoRA adapter to train');
      this.grads = this.lora.store.mirror('gradients', 'lora-grads');
    }
  }

  /**
   * Half fine-tuning: only this round's trained weights get weight-gradient work in plans built
   * from now on; the gradient store keeps every weight, since the halves swap.
   */
  limitWeightGrads(trains: TrainsWeight): void {
    if (!this.trainFull || this.grads!.count !== this.weights.store.count) throw new Error('limiting weight gradients needs full fine-tuning of every weight');
    this.trains = trains;
  }

  w(name: string): Tensor {
    return this.weights.store.get(name);
  }

  lw(l: number, name: string): Tensor {
    return this.w(layerParam(l, name));
  }

  /** A linear weight of layer l (`qkv`, `o`, `up`, `down`), f32 or quantised; an MoE expert's (moe-lora.ts) in f32. */
  lin(l: number, site: Site | ExpertSite): LinearWeight {
    if (isExpertSite(site)) return this.w(siteParam(this.cfg, l, site));
    const stem = layerParam(l, site);
    const half = halfWeight(this.weights.store, `${stem}.weight`);
    if (half) return half;
    return quantizedLinear(this.weights.store, stem, linearInFeatures(this.cfg, site)) ?? this.w(`${stem}.weight`);
  }

  /** Gradient of a base weight, or undefined when it is frozen. */
  private gw(name: string): Tensor | undefined {
    return this.trainFull && (!this.trains || this.trains(name)) ? this.grads!.get(name) : undefined;
  }

  /** Gradients of the LM head's chunks, or null when the head is frozen. */
  headGrads(): EmbeddingChunk[] | null {
    return this.gw(`${this.headPrefix()}.0`) ? this.tableChunks(this.headPrefix(), this.grads!) : null;
  }

  /** Whether layer l's backward is needed: something trains at or below it (LoRA and plain full: every layer). */
  backwardReaches(l: number): boolean {
    return !this.trains || l >= lowestTrainedLayer(this.weights.store.names, this.cfg.layers, this.trains);
  }

  private has(name: string): boolean {
    return this.weights.store.has(name);
  }

  /** Vocabulary chunks of the input embedding (and, tied, of the LM head). */
  tableChunks(prefix: 'embed' | 'head', store: ParamStore = this.weights.store): EmbeddingChunk[] {
    return this.weights.chunks.map((c, i) => ({ table: store.get(`${prefix}.${i}`), rowStart: c.start, rows: c.rows }));
  }

  headPrefix(): 'embed' | 'head' {
    return this.cfg.tiedEmbeddings ? 'embed' : 'head';
  }

  loraModules(l: number, site: Site | ExpertSite): LoraModule[] {
    return this.lora ? this.lora.modules.filter((m) => m.layer === l && m.site === site) : [];
  }

  norm(kind: 'ln1' | 'ln2' | 'final' | PostNormSite, l: number, T: number, x: Tensor, stats: Tensor): NormArgs {
    const prefix = kind === 'final' ? 'norm' : layerParam(l, kind);
    return {
      kind: this.cfg.norm, rows: T, D: this.d.H, eps: this.cfg.normEps, x, weightOffset: this.cfg.normWeightOffset,
      weight: this.w(`${prefix}.weight`), bias: this.has(`${prefix}.bias`) ? this.w(`${prefix}.bias`) : undefined, stats,
    };
  }

  async normParamGrad(p: Program, kind: 'ln1' | 'ln2' | 'final' | PostNormSite, l: number, args: NormArgs, dy: Tensor): Promise<void> {
    const prefix = kind === 'final' ? 'norm' : layerParam(l, kind);
    const dWeight = this.gw(`${prefix}.weight`);
    if (!dWeight) return;
    const dBias = this.has(`${prefix}.bias`) ? this.gw(`${prefix}.bias`) : undefined;
    await normParamGrads(this.gpu, p, args, dy, dWeight, dBias);
  }

  /** x0 = embed(ids) (+ learned positions, GPT-2). */
  async embed(p: Program, T: number, inputs: TokenInputs, x0: Tensor): Promise<void> {
    await embeddingForward(this.gpu, p, inputs.ids, this.tableChunks('embed'), x0, T, this.d.H);
    if (this.cfg.embedScale) await scaleInPlace(this.gpu, p, x0, T * this.d.H, this.cfg.embedScale);
    if (this.cfg.learnedPositions) {
      await embeddingForward(this.gpu, p, inputs.positions, [{ table: this.w('pos'), rowStart: 0, rows: this.cfg.maxPositions }], x0, T, this.d.H, true);
    }
  }

  async embedBackward(p: Program, T: number, inputs: TokenInputs, dx0: Tensor): Promise<void> {
    if (this.gw('embed.0')) {
      if (this.cfg.embedScale) await scaleInPlace(this.gpu, p, dx0, T * this.d.H, this.cfg.embedScale);
      await embeddingBackward(this.gpu, p, inputs.ids, dx0, this.tableChunks('embed', this.grads!), T, this.d.H);
    }
    if (this.cfg.learnedPositions && this.gw('pos')) {
      await embeddingBackward(this.gpu, p, inputs.positions, dx0, [{ table: this.grads!.get('pos'), rowStart: 0, rows: this.cfg.maxPositions }], T, this.d.H);
    }
  }

  /** dropout(x) into `scratch` when the adapter has dropout and this is a training plan; else x. */
  loraInput(p: Program, T: number, m: LoraModule, x: Mat, step: StepState | null, scratch: Tensor | null): Promise<Mat> {
    return loraInput(this, p, T, m, x, step, scratch);
  }

  /** y[:, cols] += s · (dropout(x) Aᵀ) Bᵀ for every LoRA module at this site; saves x Aᵀ. */
  loraForward(
    p: Program, l: number, site: Site, T: number, x: Mat, y: Mat, acts: LayerActs, step: StepState | null, scratch: Tensor | null,
  ): Promise<void> {
    return loraForward(this, p, l, site, T, x, y, acts, step, scratch);
  }

  /** dB += s·dyᵀt; dt = s·dy B; dA += dtᵀ·dropout(x); dx += dropout'(dt A). */
  loraBackward(
    p: Program, l: number, site: Site, T: number, x: Mat, dy: Mat, dx: Mat, acts: LayerActs, g: GradScratch, step: StepState | null,
  ): Promise<void> {
    return loraBackward(this, p, l, site, T, x, dy, dx, acts, g, step);
  }

  /**
   * One block: x → (+attention) → xm → (+MLP) → xOut (attention-block.ts, mlp-block.ts, moe-block.ts).
   * Residual adds are fused into the output projections.
   */
  async layerForward(
    p: Program, l: number, T: number, S: number, x: Tensor, xOut: Tensor, a: LayerActs, inputs: TokenInputs,
    step: StepState | null, dropScratch: Tensor | null, attend?: Attend,
  ): Promise<void> {
    const { gpu, cfg } = this;
    if (a.normFused && (this.gate || cfg.moe)) throw new Error('the adapter gate and MoE layers read h1/h2: this plan folded the norms away');
    // With the norms folded into their matmuls (normed-input.ts) only their statistics are written.
    const norm = (args: NormArgs, h: Tensor) => (a.normFused ? normStats(gpu, p, args) : normForward(gpu, p, args, h));
    const ln1 = this.norm('ln1', l, T, x, a.st1);
    await norm(ln1, a.h1);
    if (this.gate && a.gate) await this.gate.forward(p, l, T, a.h1, a.gate);
    await attentionBlockForward(this, p, l, T, S, x, a, inputs, step, dropScratch, attend, layerInput(ln1, a.h1, a.normFused));
    const ln2 = this.norm('ln2', l, T, a.xm, a.st2);
    await norm(ln2, a.h2);
    if (cfg.moe) return moeForward(this, p, l, T, a, inputs, xOut, step, dropScratch);
    await mlpBlockForward(this, p, l, T, xOut, a, step, dropScratch, layerInput(ln2, a.h2, a.normFused));
  }

  /** The RoPE table of layer l (sliding-window layers may have their own). */
  ropeFor(l: number): Tensor | null {
    return isSliding(this.cfg, l) && this.localRopeTable ? this.localRopeTable : this.ropeTable;
  }

  /** The query bounds layer l attends with (a sliding layer's window bounds once recorded into its acts). */
  queryBounds(l: number, T: number, inputs: TokenInputs, a: LayerActs): Tensor {
    return layerBounds(this.cfg, l, T, { q: inputs.qBounds, k: inputs.kBounds }, a.windowBounds).q;
  }

  attentionArgs(T: number, S: number, a: LayerActs, inputs: TokenInputs, l: number) {
    const d = this.d;
    const view = (col: number) => ({ t: { ...a.qkv, offset: a.qkv.offset + col }, stride: d.qkvDim });
    return {
      T, Sq: S, Sk: S, heads: d.heads, kvHeads: d.kvHeads, headDim: d.headDim,
      q: view(0), k: view(d.qDim), v: view(d.qDim + d.kvDim), o: { t: a.att, stride: d.qDim },
      lse: a.lse, bounds: this.queryBounds(l, T, inputs, a), scale: this.cfg.attentionScale,
    };
  }

  /** g.dres holds d(xOut) on entry and d(x) on exit. */
  async layerBackward(
    p: Program, l: number, T: number, S: number, x: Tensor, a: LayerActs, g: GradScratch, inputs: TokenInputs, step: StepState | null,
  ): Promise<void> {
    const { gpu, cfg } = this;
    const gw = (n: string) => this.gw(layerParam(l, n));
    const ln2 = this.norm('ln2', l, T, a.xm, a.st2);
    const ln1 = this.norm('ln1', l, T, x, a.st1);
    if (cfg.moe) await moeBackward(this, p, l, T, a, g, inputs, step);
    else await mlpBlockBackward(this, p, l, T, a, g, step, gw, layerInput(ln2, a.h2, a.normFused));
    await normBackward(gpu, p, ln2, g.dh, g.dres, true);
    await this.normParamGrad(p, 'ln2', l, ln2, g.dh);
    await attentionBlockBackward(this, p, l, T, S, a, g, inputs, step, gw, layerInput(ln1, a.h1, a.normFused));
    if (this.gate && a.gate) await this.gate.backward(p, l, T, a.h1, a.gate, g.dh);
    await normBackward(gpu, p, ln1, g.dh, g.dres, true);
    await this.normParamGrad(p, 'ln1', l, ln1, g.dh);
  }

  /** Whether plans allocated now fold ln1/ln2 into their matmuls (normed-input.ts). */
  normFuses(): boolean {
    return normFuses(this);
  }

  /** Whether every layer norm's weight and bias share a buffer (one binding for both in a normed operand). */
  normParamsShareBuffers(): boolean {
    const apart = (stem: string) => this.has(`${stem}.bias`) && this.w(`${stem}.bias`).buffer !== this.w(`${stem}.weight`).buffer;
    for (let l = 0; l < this.cfg.layers; l++) if (apart(layerParam(l, 'ln1')) || apart(layerParam(l, 'ln2'))) return false;
    return true;
  }

  /** Allocates one layer's activations for T tokens. */
  allocLayerActs(T: number, alloc: (elements: number, label: string) => Tensor): LayerActs {
    return allocLayerActs(this, T, alloc);
  }

  allocGradScratch(T: number, alloc: (elements: number, label: string) => Tensor): GradScratch {
    return allocGradScratch(this, T, alloc);
  }

  destroy(): void {
    this.grads?.destroy();
    this.lora?.destroy();
    this.weights.destroy();
    if (this.ropeTable) this.gpu.destroyBuffer(this.ropeTable.buffer);
    if (this.localRopeTable) this.gpu.destroyBuffer(this.localRopeTable.buffer);
    if (this.moeStats) this.gpu.destroyBuffer(this.moeStats.buffer);
  }
}
