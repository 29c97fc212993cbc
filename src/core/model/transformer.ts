import type { Gpu } from '../gpu/gpu.ts';
import { Program } from '../gpu/program.ts';
import { tensorOf, viewOf, type Tensor } from '../gpu/tensor.ts';
import { activationBackward, activationForward, swigluBackward, swigluForward } from '../kernels/activation.ts';
import { attentionBackward, attentionForward } from '../kernels/attention.ts';
import { dropout } from '../kernels/dropout.ts';
import { embeddingBackward, embeddingForward, type EmbeddingChunk } from '../kernels/embedding.ts';
import { normBackward, normForward, normParamGrads, statsPerRow, type NormArgs } from '../kernels/norm.ts';
import { rope, ropeTable } from '../kernels/rope.ts';
import { matmul } from '../kernels/matmul.ts';
import type { StepState } from '../kernels/step-state.ts';
import { ropeParameters, type ModelConfig } from './config.ts';
import { linearInFeatures, quantizedLinear } from './base-quant.ts';
import { dims, layerParam, type Dims } from './layout.ts';
import { linearBackwardParams, linearForward, mat, type LinearWeight, type Mat } from './linear.ts';
import type { ExpertSite, LoraAdapter, LoraModule, Site } from './lora.ts';
import { siteBackward, siteForward } from './lora-fused.ts';
import { isExpertSite, siteParam } from './moe-lora.ts';
import { doraBackward } from './dora-layer.ts';
import { allocMoeActs, allocMoeStats, moeBackward, moeForward, type MoeActs } from './moe-block.ts';
import type { ParamStore } from './param-store.ts';
import { lowestTrainedLayer, trainedGradStore, type TrainsWeight } from './frozen-grads.ts';
import { halfWeight } from './precision.ts';
import { qkNormBackward, qkNormForward, type QkNormTensors } from './qk-norm.ts';
import { gegluBackward, gegluForward } from '../kernels/geglu.ts';
import { scaleInPlace } from '../kernels/scale.ts';
import { layerBounds, localRopeTable, recordWindowBounds, windowBoundsElements, isSliding } from './local-attention.ts';
import { postNormBackward, postNormForward, type PostNormSite } from './post-norm.ts';
import type { ModelWeights } from './weights.ts';
import type { AdapterGate, GateActs } from './adapter-gate.ts';

/** Activations of one layer, saved by the forward for the backward (or shared when recomputed). */
export interface LayerActs {
  readonly h1: Tensor;
  readonly st1: Tensor;
  readonly qkv: Tensor;
  readonly att: Tensor;
  readonly lse: Tensor;
  readonly xm: Tensor;
  readonly h2: Tensor;
  readonly st2: Tensor;
  readonly up: Tensor;
  readonly act: Tensor;
  /** q and k before their per-head norm, and its 1/rms (models with q/k norms; else 1 element). */
  readonly qkRaw: Tensor;
  readonly qkStats: Tensor;
  /** LoRA's x·Aᵀ per module of the layer (by slot), [T, r]. */
  readonly loraT: readonly Tensor[];
  /** Attention and MLP outputs before their post-norms, and the norms' 1/rms (models with post-norms; else 1 element). */
  readonly attnOut: Tensor;
  readonly attnOutStats: Tensor;
  readonly mlpOut: Tensor;
  readonly mlpOutStats: Tensor;
  /** u32 query then key bounds of a sliding-window layer (models with such layers; else 1 element). */
  readonly windowBounds: Tensor;
  /** Routing of a mixture-of-experts layer (moe-block.ts). */
  readonly moe?: MoeActs;
  /** The adapter gate's weights of this layer (adapter-gate.ts). */
  readonly gate?: GateActs;
}

/** Gradient scratch shared by every layer's backward. */
export interface GradScratch {
  readonly dres: Tensor;
  readonly dh: Tensor;
  readonly dqkv: Tensor;
  readonly datt: Tensor;
  readonly dup: Tensor;
  readonly dact: Tensor;
  readonly delta: Tensor;
  readonly loraDt: Tensor;
  /** Dropout output of the module being processed ([T, max in]). */
  readonly dropped: Tensor;
  /** Gradient of a branch output before its post-norm ([T, H] with post-norms; else 1 element). */
  readonly dPostNorm: Tensor;
}

/** Per-token inputs of a plan, all u32. */
export interface TokenInputs {
  readonly ids: Tensor;
  readonly positions: Tensor;
  readonly targets: Tensor;
  readonly qBounds: Tensor;
  readonly kBounds: Tensor;
  /** 1 for real tokens, 0 for padding (training plans: the MoE aux loss leaves padding out). */
  readonly real?: Tensor;
}

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
  async loraInput(p: Program, T: number, m: LoraModule, x: Mat, step: StepState | null, scratch: Tensor | null): Promise<Mat> {
    const drop = this.lora!.settings.dropout;
    if (drop === 0 || !step || !scratch) return x;
    if (x.ld !== m.in) throw new Error('LoRA dropout needs a dense input');
    await dropout(this.gpu, p, x.t, scratch, T * m.in, drop, m.stream, step.tensor);
    return mat(scratch, m.in);
  }

  /** y[:, cols] += s · (dropout(x) Aᵀ) Bᵀ for every LoRA module at this site; saves x Aᵀ. */
  async loraForward(
    p: Program, l: number, site: Site, T: number, x: Mat, y: Mat, acts: LayerActs, step: StepState | null, scratch: Tensor | null,
  ): Promise<void> {
    const r = this.lora?.settings.r ?? 0;
    for (const m of this.loraModules(l, site)) {
      const xin = await this.loraInput(p, T, m, x, step, scratch);
      const t = acts.loraT[m.slot]!;
      if (m.magnitude) {
        await this.lora!.dora!.forward(p, T, m, this.lora!.doraWeights(m, this.lin(l, site)), xin, y, t);
        continue;
      }
      await linearForward(this.gpu, p, T, xin, this.lora!.store.get(m.a), r, m.in, mat(t, r));
      const tb = this.gate && acts.gate ? await this.gate.scale(p, T, t, acts.gate) : t;
      await linearForward(this.gpu, p, T, mat(tb, r), this.lora!.store.get(m.b), m.out, r, mat(y.t, y.ld, m.col), {
        accumulate: true,
        alpha: this.lora!.scaling,
      });
    }
  }

  /** dB += s·dyᵀt; dt = s·dy B; dA += dtᵀ·dropout(x); dx += dropout'(dt A). */
  async loraBackward(
    p: Program, l: number, site: Site, T: number, x: Mat, dy: Mat, dx: Mat, acts: LayerActs, g: GradScratch, step: StepState | null,
  ): Promise<void> {
    if (!this.lora) return;
    const r = this.lora.settings.r;
    const s = this.lora.scaling;
    const drop = this.lora.settings.dropout;
    const trainsLora = !this.trainFull && this.grads !== null;
    for (const m of this.loraModules(l, site)) {
      const t = acts.loraT[m.slot]!;
      if (m.magnitude) {
        await doraBackward(this, p, { l, site, T, m, x, dy, dx, t, g, step, trainsLora });
        continue;
      }
      const dyc = mat(dy.t, dy.ld, m.col);
      if (trainsLora) await linearBackwardParams(this.gpu, p, T, dyc, mat(t, r), m.out, r, this.grads!.get(m.b), undefined, s);
      await matmul(this.gpu, p, { a: dyc.t, lda: dyc.ld, b: this.lora.store.get(m.b), c: g.loraDt, M: T, N: r, K: m.out, alpha: s });
      if (this.gate && acts.gate) await this.gate.blocksBackward(p, T, t, g.loraDt, acts.gate);
      if (trainsLora) {
        const xin = await this.loraInput(p, T, m, x, step, g.dropped);
        await linearBackwardParams(this.gpu, p, T, mat(g.loraDt, r), xin, r, m.in, this.grads!.get(m.a));
      }
      const A = this.lora.store.get(m.a);
      if (drop > 0 && step) {
        await matmul(this.gpu, p, { a: g.loraDt, b: A, c: g.dropped, M: T, N: m.in, K: r });
        if (dx.ld !== m.in) throw new Error('LoRA dropout needs a dense input gradient');
        await dropout(this.gpu, p, g.dropped, dx.t, T * m.in, drop, m.stream, step.tensor, true);
      } else {
        await matmul(this.gpu, p, { a: g.loraDt, b: A, c: dx.t, ldc: dx.ld, M: T, N: m.in, K: r, beta: 1 });
      }
    }
  }

  /**
   * One block: x → (+attention) → xm → (+MLP) → xOut. Residual adds are fused into the output
   * projections (xm starts as a copy of x and the projection accumulates onto it).
   */
  async layerForward(
    p: Program, l: number, T: number, S: number, x: Tensor, xOut: Tensor, a: LayerActs, inputs: TokenInputs,
    step: StepState | null, dropScratch: Tensor | null, attend?: Attend,
  ): Promise<void> {
    const { gpu, d, cfg } = this;
    const H = d.H;
    const ln1 = this.norm('ln1', l, T, x, a.st1);
    await normForward(gpu, p, ln1, a.h1);
    if (this.gate && a.gate) await this.gate.forward(p, l, T, a.h1, a.gate);
    await siteForward(this, p, l, 'qkv', T, mat(a.h1, H), mat(a.qkv, d.qkvDim), { out: d.qkvDim, inF: H }, {
      bias: cfg.attentionBias ? this.lw(l, 'qkv.bias') : undefined,
    }, a, step, dropScratch);
    if (cfg.qkNorm) await qkNormForward(gpu, p, d, T, cfg.normEps, this.qkNorm(l, a));
    const ropeTable = this.ropeFor(l);
    if (ropeTable) {
      const common = { T, headDim: d.headDim, rowStride: d.qkvDim, positions: inputs.positions, table: ropeTable, maxPositions: this.ropePositions };
      // The k heads follow the q heads in a q|k|v row: one rotation covers both.
      await rope(gpu, p, { ...common, x: a.qkv, heads: d.heads + d.kvHeads });
    }
    await recordWindowBounds(gpu, p, cfg, l, T, { q: inputs.qBounds, k: inputs.kBounds }, a.windowBounds);
    if (attend) await attend(p, l, a);
    else await attentionForward(gpu, p, this.attentionArgs(T, S, a, inputs, l));
    p.add({ kind: 'copy', src: x.buffer, srcOffset: x.offset * 4, dst: a.xm.buffer, dstOffset: a.xm.offset * 4, size: T * H * 4 });
    // With post-norms the projection writes its own output, which the norm adds onto xm.
    const attnOut = cfg.postNorms ? a.attnOut : a.xm;
    await siteForward(this, p, l, 'o', T, mat(a.att, d.qDim), mat(attnOut, H), { out: H, inF: d.qDim }, {
      accumulate: !cfg.postNorms,
      bias: cfg.oBias ? this.lw(l, 'o.bias') : undefined,
    }, a, step, dropScratch);
    if (cfg.postNorms) await postNormForward(this, p, 'post_attn_norm', l, T, { out: a.attnOut, stats: a.attnOutStats }, a.xm);

    const ln2 = this.norm('ln2', l, T, a.xm, a.st2);
    await normForward(gpu, p, ln2, a.h2);
    if (cfg.moe) return moeForward(this, p, l, T, a, inputs, xOut, step, dropScratch);
    const upBias = cfg.mlpBias ? this.lw(l, 'up.bias') : undefined;
    const upAct = d.gated ? undefined : { kind: 'forward', act: cfg.act, y: a.act, ldy: d.inner } as const;
    const upActDone = await siteForward(this, p, l, 'up', T, mat(a.h2, H), mat(a.up, d.upDim), { out: d.upDim, inF: H }, {
      bias: upBias, activation: upAct,
    }, a, step, dropScratch);
    if (d.gated && cfg.act === 'gelu_new') await gegluForward(gpu, p, a.up, a.act, T, d.inner);
    else if (d.gated) await swigluForward(gpu, p, a.up, a.act, T, d.inner);
    else if (!upActDone) await activationForward(gpu, p, cfg.act, a.up, a.act, T * d.inner);
    p.add({ kind: 'copy', src: a.xm.buffer, srcOffset: a.xm.offset * 4, dst: xOut.buffer, dstOffset: xOut.offset * 4, size: T * H * 4 });
    const mlpOut = cfg.postNorms ? a.mlpOut : xOut;
    await siteForward(this, p, l, 'down', T, mat(a.act, d.inner), mat(mlpOut, H), { out: H, inF: d.inner }, {
      accumulate: !cfg.postNorms,
      bias: cfg.mlpBias ? this.lw(l, 'down.bias') : undefined,
    }, a, step, dropScratch);
    if (cfg.postNorms) await postNormForward(this, p, 'post_mlp_norm', l, T, { out: a.mlpOut, stats: a.mlpOutStats }, xOut);
  }

  /** The RoPE table of layer l (sliding-window layers may have their own). */
  ropeFor(l: number): Tensor | null {
    return isSliding(this.cfg, l) && this.localRopeTable ? this.localRopeTable : this.ropeTable;
  }

  /** The query bounds layer l attends with (a sliding layer's window bounds once recorded into its acts). */
  queryBounds(l: number, T: number, inputs: TokenInputs, a: LayerActs): Tensor {
    return layerBounds(this.cfg, l, T, { q: inputs.qBounds, k: inputs.kBounds }, a.windowBounds).q;
  }

  private qkNorm(l: number, a: LayerActs): QkNormTensors {
    return {
      qkv: a.qkv, raw: a.qkRaw, stats: a.qkStats, qWeight: this.lw(l, 'q_norm.weight'), kWeight: this.lw(l, 'k_norm.weight'),
      weightOffset: this.cfg.normWeightOffset, whole: this.cfg.qkNormWhole,
    };
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
    const { gpu, d, cfg } = this;
    const H = d.H;
    const gw = (n: string) => this.gw(layerParam(l, n));
    const dres = mat(g.dres, H);

    // MLP: xOut = xm + down(act(up(ln2(xm)))) (with post-norms: xm + norm(down(...))), or the mixture of experts
    // (moe-block.ts). The dense path is left unindented inside its else to keep this shared file's diff small.
    if (cfg.moe) await moeBackward(this, p, l, T, a, g, inputs, step);
    else {
    if (cfg.postNorms) await postNormBackward(this, p, 'post_mlp_norm', l, T, { out: a.mlpOut, stats: a.mlpOutStats }, g.dres, g.dPostNorm);
    const dDown = cfg.postNorms ? mat(g.dPostNorm, H) : dres;
    // The activation's backward rides on the down projection's input gradient when it can (matmul_act.wgsl).
    const geglu = d.gated && cfg.act === 'gelu_new';
    const actGrad = { kind: 'backward', act: geglu ? 'geglu' : d.gated ? 'swiglu' : cfg.act, y: a.up, ldy: d.upDim, width: d.inner } as const;
    const downShape = { out: H, inF: d.inner };
    const actDone = await siteBackward(this, p, l, 'down', T, mat(a.act, d.inner), dDown, mat(g.dact, d.inner), downShape, false, a, g, step, {
      epilogue: actGrad, dx: mat(g.dup, d.upDim),
    });
    const dDownW = gw('down.weight');
    if (dDownW) await linearBackwardParams(gpu, p, T, dDown, mat(a.act, d.inner), H, d.inner, dDownW, cfg.mlpBias ? gw('down.bias') : undefined);
    if (!actDone && geglu) await gegluBackward(gpu, p, a.up, g.dact, g.dup, T, d.inner);
    else if (!actDone && d.gated) await swigluBackward(gpu, p, a.up, g.dact, g.dup, T, d.inner);
    else if (!actDone) await activationBackward(gpu, p, cfg.act, a.up, g.dact, g.dup, T * d.inner);
    await siteBackward(this, p, l, 'up', T, mat(a.h2, H), mat(g.dup, d.upDim), mat(g.dh, H), { out: d.upDim, inF: H }, false, a, g, step);
    const dUp = gw('up.weight');
    if (dUp) await linearBackwardParams(gpu, p, T, mat(g.dup, d.upDim), mat(a.h2, H), d.upDim, H, dUp, cfg.mlpBias ? gw('up.bias') : undefined);
    }
    const ln2 = this.norm('ln2', l, T, a.xm, a.st2);
    await normBackward(gpu, p, ln2, g.dh, g.dres, true);
    await this.normParamGrad(p, 'ln2', l, ln2, g.dh);

    // Attention: xm = x + o(attn(rope(qkv(ln1(x))))) (with post-norms: x + norm(o(...)))
    if (cfg.postNorms) await postNormBackward(this, p, 'post_attn_norm', l, T, { out: a.attnOut, stats: a.attnOutStats }, g.dres, g.dPostNorm);
    const dO = cfg.postNorms ? mat(g.dPostNorm, H) : dres;
    await siteBackward(this, p, l, 'o', T, mat(a.att, d.qDim), dO, mat(g.datt, d.qDim), { out: H, inF: d.qDim }, false, a, g, step);
    const dOW = gw('o.weight');
    if (dOW) await linearBackwardParams(gpu, p, T, dO, mat(a.att, d.qDim), H, d.qDim, dOW, cfg.oBias ? gw('o.bias') : undefined);
    const bounds = layerBounds(cfg, l, T, { q: inputs.qBounds, k: inputs.kBounds }, a.windowBounds);
    await attentionBackward(gpu, p, {
      ...this.attentionArgs(T, S, a, inputs, l), dO: g.datt, keyBounds: bounds.k, delta: g.delta, grad: g.dqkv,
    });
    const ropeTable = this.ropeFor(l);
    if (ropeTable) {
      const common = { T, headDim: d.headDim, rowStride: d.qkvDim, positions: inputs.positions, table: ropeTable, maxPositions: this.ropePositions };
      await rope(gpu, p, { ...common, x: g.dqkv, heads: d.heads + d.kvHeads }, true);
    }
    if (cfg.qkNorm) {
      const [q, k] = [gw('q_norm.weight'), gw('k_norm.weight')];
      await qkNormBackward(gpu, p, d, T, cfg.normEps, this.qkNorm(l, a), g.dqkv, q && k ? { q, k } : undefined);
    }
    await siteBackward(this, p, l, 'qkv', T, mat(a.h1, H), mat(g.dqkv, d.qkvDim), mat(g.dh, H), { out: d.qkvDim, inF: H }, false, a, g, step);
    const dQkv = gw('qkv.weight');
    if (dQkv) await linearBackwardParams(gpu, p, T, mat(g.dqkv, d.qkvDim), mat(a.h1, H), d.qkvDim, H, dQkv, cfg.attentionBias ? gw('qkv.bias') : undefined);
    if (this.gate && a.gate) await this.gate.backward(p, l, T, a.h1, a.gate, g.dh);
    const ln1 = this.norm('ln1', l, T, x, a.st1);
    await normBackward(gpu, p, ln1, g.dh, g.dres, true);
    await this.normParamGrad(p, 'ln1', l, ln1, g.dh);
  }

  /** Allocates one layer's activations for T tokens. */
  allocLayerActs(T: number, alloc: (elements: number, label: string) => Tensor): LayerActs {
    const d = this.d;
    const perLayer = this.lora?.modules.filter((x) => x.layer === 0).length ?? 0;
    // One buffer for every module's x·Aᵀ: fused LoRA binds them together (lora-fused.ts).
    const tr = T * (this.lora?.settings.r ?? 0);
    const tAll = perLayer ? alloc(perLayer * tr, 'lora-t') : null;
    const loraT = Array.from({ length: perLayer }, (_, i) => viewOf(tAll!, [tr], i * tr));
    return {
      h1: alloc(T * d.H, 'h1'), st1: alloc(T * statsPerRow(this.cfg.norm), 'st1'), qkv: alloc(T * d.qkvDim, 'qkv'),
      att: alloc(T * d.qDim, 'att'), lse: alloc(T * d.heads, 'lse'), xm: alloc(T * d.H, 'xm'),
      h2: alloc(T * d.H, 'h2'), st2: alloc(T * statsPerRow(this.cfg.norm), 'st2'), up: alloc(T * d.upDim, 'up'), act: alloc(T * d.inner, 'act'),
      qkRaw: alloc(this.cfg.qkNorm ? T * (d.qDim + d.kvDim) : 1, 'qk-raw'), qkStats: alloc(this.cfg.qkNorm ? T * (d.heads + d.kvHeads) : 1, 'qk-stats'),
      loraT,
      ...this.allocPostNormActs(T, alloc),
      windowBounds: alloc(windowBoundsElements(this.cfg, T), 'window-bounds'),
      moe: this.cfg.moe ? allocMoeActs(this.cfg.moe, T, alloc) : undefined,
      gate: this.gate?.allocActs(T, alloc),
    };
  }

  private allocPostNormActs(T: number, alloc: (elements: number, label: string) => Tensor) {
    const [n, rows] = this.cfg.postNorms ? [T * this.d.H, T] : [1, 1];
    return { attnOut: alloc(n, 'attn-out'), attnOutStats: alloc(rows, 'attn-out-st'), mlpOut: alloc(n, 'mlp-out'), mlpOutStats: alloc(rows, 'mlp-out-st') };
  }

  allocGradScratch(T: number, alloc: (elements: number, label: string) => Tensor): GradScratch {
    const d = this.d;
    const r = this.lora?.settings.r ?? 1;
    const perLayer = Math.max(1, this.lora?.modules.filter((x) => x.layer === 0).length ?? 1);
    const maxIn = Math.max(d.H, d.qDim, d.inner);
    return {
      dres: alloc(T * d.H, 'dres'), dh: alloc(T * d.H, 'dh'), dqkv: alloc(T * d.qkvDim, 'dqkv'), datt: alloc(T * d.qDim, 'datt'),
      dup: alloc(T * d.upDim, 'dup'), dact: alloc(T * d.inner, 'dact'), delta: alloc(T * d.heads, 'delta'),
      loraDt: alloc(T * r * perLayer, 'lora-dt'), dropped: alloc(this.lora && this.lora.settings.dropout > 0 ? T * maxIn : 1, 'lora-dropout'),
      dPostNorm: alloc(this.cfg.postNorms ? T * d.H : 1, 'd-post-norm'),
    };
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

/** Replaces the attention of a layer (generation reads keys and values from a cache). */
export type Attend = (p: Program, layer: number, acts: LayerActs) => Promise<void>;
