/**
 * A learned mixture of LoRA experts: per layer l a gate W_g[l] [K, H] (+ bias [K]) reads the
 * layer's normed input h1 (what q/k/v read) and weights K frozen adapters per token,
 * g = softmax(h1·W_gᵀ + b); every adapted module of the layer adds Σ_k g_k·s_k·(x·A_kᵀ)·B_kᵀ.
 * The adapters run as one stacked LoRA (adapter-gate-stack.ts) whose rank blocks the gate scales.
 * Only the gate trains: its gradient is exact through every module of the layer, and
 * dh1 += d(logits)·W_g carries it to earlier layers' gates.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import { tensorOf, type Tensor } from '../gpu/tensor.ts';
import { gateBlocksBackward, gateScaleBlocks, gateSoftmax, gateSoftmaxBackward, type GateShape } from '../kernels/adapter-gate.ts';
import { InputError } from '../errors.ts';
import type { ModelConfig } from './config.ts';
import { linearBackwardParams, linearForward, mat } from './linear.ts';
import { LoraAdapter } from './lora.ts';
import { ParamStore } from './param-store.ts';
import { stackAdapters, type GateAdapter } from './adapter-gate-stack.ts';
import { matmul } from '../kernels/matmul.ts';

/** One layer's gate activations for T tokens. */
export interface GateActs {
  readonly T: number;
  /** g [T, K] (the logits before the softmax, in place). */
  readonly g: Tensor;
  /** dg [T, K], then d(logits) (backward). */
  readonly dg: Tensor;
  /** t with its blocks scaled by g [T, R]. */
  readonly scaled: Tensor;
}

/** What a gate attaches to (the Transformer; structural, so the two files do not import each other). */
export interface GatedModel {
  lora: LoraAdapter | null;
  gate: AdapterGate | null;
}

export const gateWeight = (l: number) => `layers.${l}.gate.weight`;
export const gateBias = (l: number) => `layers.${l}.gate.bias`;

export class AdapterGate {
  /** The gate's parameters: W_g [K, H] and b [K] per layer. */
  readonly params: ParamStore;
  /** Their gradients, filled by the backward of a plan (zeroed by the optimizer). */
  readonly grads: ParamStore;
  readonly K: number;
  readonly R: number;
  /** When set before a plan is recorded, every layer's g [T, K] is copied to it at l·T·K (the routing shown per answer). */
  probe: Tensor | null = null;

  private constructor(
    private readonly gpu: Gpu,
    readonly cfg: ModelConfig,
    readonly names: readonly string[],
    readonly ranks: readonly number[],
    /** The K adapters stacked; the model's LoRA while the gate is on. */
    readonly stacked: LoraAdapter,
    private readonly owner: Tensor,
  ) {
    this.K = names.length;
    this.R = stacked.settings.r;
    const specs = Array.from({ length: cfg.layers }, (_, l) => [
      { name: gateWeight(l), shape: [this.K, cfg.hidden], decay: true },
      { name: gateBias(l), shape: [this.K], decay: false },
    ]).flat();
    this.params = ParamStore.create(gpu, specs, 'weights', 'adapter-gate');
    this.grads = this.params.mirror('gradients', 'adapter-gate-grads');
  }

  /** Stacks the adapters and makes a gate with zero weights (an even mixture until it trains). */
  static async create(gpu: Gpu, cfg: ModelConfig, adapters: readonly GateAdapter[]): Promise<AdapterGate> {
    if (cfg.moe) throw new InputError('--gate', 'the adapter gate supports dense models; this model has mixture-of-experts layers');
    const stack = stackAdapters(cfg, adapters);
    const stacked = await LoraAdapter.load(gpu, cfg, stack.files);
    const owner = tensorOf(gpu.upload(stack.owner, 'weights', 'gate-owner'), [stack.owner.length]);
    const gate = new AdapterGate(gpu, cfg, adapters.map((a) => a.name), stack.ranks, stacked, owner);
    for (const b of gate.params.buffers) gpu.write(b, new Float32Array(b.size / 4));
    return gate;
  }

  /** Writes the gate's weights (name → values), e.g. from gate.safetensors. */
  setValues(values: ReadonlyMap<string, Float32Array>): void {
    for (const [name, data] of values) {
      const t = this.params.get(name);
      this.gpu.write(t.buffer, data, t.offset * 4);
    }
  }

  /** The gate's weights read back. */
  async values(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const name of this.params.names) {
      const t = this.params.get(name);
      out.set(name, await this.gpu.readF32(t.buffer, t.offset * 4, t.shape.reduce((n, x) => n * x, 1)));
    }
    return out;
  }

  allocActs(T: number, alloc: (elements: number, label: string) => Tensor): GateActs {
    return { T, g: alloc(T * this.K, 'gate-g'), dg: alloc(T * this.K, 'gate-dg'), scaled: alloc(T * this.R, 'gate-scaled') };
  }

  private shape(T: number): GateShape {
    return { T, K: this.K, R: this.R };
  }

  /** g = softmax(h1·W_gᵀ + b) for layer l; clears dg for the backward. */
  async forward(p: Program, l: number, T: number, h1: Tensor, a: GateActs): Promise<void> {
    const H = this.cfg.hidden;
    await linearForward(this.gpu, p, T, mat(h1, H), this.params.get(gateWeight(l)), this.K, H, mat(a.g, this.K), {
      bias: this.params.get(gateBias(l)),
    });
    await gateSoftmax(this.gpu, p, this.shape(T), a.g);
    const size = T * this.K * 4;
    const probe = this.probe;
    if (probe) p.add({ kind: 'copy', src: a.g.buffer, srcOffset: a.g.offset * 4, dst: probe.buffer, dstOffset: probe.offset * 4 + l * size, size });
    p.add({ kind: 'clear', buffer: a.dg.buffer, offset: a.dg.offset * 4, size: T * this.K * 4 });
  }

  /** t [T, R] with block k times g_k, into the acts' scratch (what B multiplies). */
  async scale(p: Program, T: number, t: Tensor, a: GateActs): Promise<Tensor> {
    await gateScaleBlocks(this.gpu, p, this.shape(T), t, a.g, this.owner, a.scaled);
    return a.scaled;
  }

  /** d(t⊙g) → dt in place, accumulating dg (one module). */
  blocksBackward(p: Program, T: number, t: Tensor, d: Tensor, a: GateActs): Promise<void> {
    return gateBlocksBackward(this.gpu, p, this.shape(T), t, a.g, this.owner, d, a.dg);
  }

  /** After every module of layer l: softmax backward, dW_g += dlᵀ·h1, db += Σ dl, dh1 += dl·W_g. */
  async backward(p: Program, l: number, T: number, h1: Tensor, a: GateActs, dh1: Tensor): Promise<void> {
    const { gpu, K } = this;
    const H = this.cfg.hidden;
    await gateSoftmaxBackward(gpu, p, this.shape(T), a.g, a.dg);
    await linearBackwardParams(gpu, p, T, mat(a.dg, K), mat(h1, H), K, H, this.grads.get(gateWeight(l)), this.grads.get(gateBias(l)));
    await matmul(gpu, p, { a: a.dg, b: this.params.get(gateWeight(l)), c: dh1, M: T, N: H, K, beta: 1 });
  }

  /** Puts the gate on a model: its stacked adapter becomes the model's LoRA (nothing of the base changes). */
  attach(model: GatedModel): void {
    model.lora = this.stacked;
    model.gate = this;
  }

  /** Takes the gate (and its stacked adapter) off the model, which is left with no adapter. */
  detach(model: GatedModel): void {
    if (model.gate !== this) return;
    model.gate = null;
    model.lora = null;
  }

  destroy(): void {
    this.params.destroy();
    this.grads.destroy();
    this.stacked.destroy();
    this.gpu.destroyBuffer(this.owner.buffer);
  }
}
