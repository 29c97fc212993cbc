import { InputError } from '../errors.ts';
import type { FileTree } from '../formats/bytes.ts';
import { readJson } from '../formats/bytes.ts';
import {
  adapterConfigJson, linearModules, loraKey, loraScaling, magnitudeKey, parseAdapterConfig, parseLoraKey,
  parseExpertModule, parseMagnitudeKey, resolveTargets, type ModuleId,
} from '../formats/peft.ts';
import { SafetensorsFile, writeSafetensors } from '../formats/safetensors.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { ModelConfig } from './config.ts';
import { dims } from './layout.ts';
import { ParamStore, type ParamSpec } from './param-store.ts';
import { DoraState, type DoraWeights } from './dora.ts';
import { pissaAlpha, pissaAsLora } from './pissa-export.ts';
import type { LinearWeight } from './linear.ts';
import type { LoraInit } from './pissa-export.ts';
import { Rng } from '../rng.ts';

/** The fused projection a LoRA module adds to, and the output columns it covers there. */
export type Site = 'qkv' | 'o' | 'up' | 'down';
/** An expert's fused gate|up or its down projection in a mixture-of-experts block (moe-lora.ts); -1: shared. */
export type ExpertSite = `expert.${number}.${'up' | 'down'}`;

export interface LoraModule {
  readonly layer: number;
  readonly id: ModuleId;
  readonly site: Site | ExpertSite;
  readonly col: number;
  readonly in: number;
  readonly out: number;
  /** Distinct per module, so modules sharing an input draw different dropout masks. */
  readonly stream: number;
  /** Index among its layer's modules (the same in every layer). */
  readonly slot: number;
  readonly a: string;
  readonly b: string;
  /** DoRA: the magnitude vector's parameter name, and where the module's norms sit in the DoRA state. */
  readonly magnitude?: string;
  readonly doraOffset: number;
}

/** LoRA as a user asks for it (PEFT's LoraConfig): targets by name, resolved per architecture later. */
export interface LoraOptions {
  readonly r: number;
  readonly alpha: number;
  readonly dropout: number;
  /** "all-linear" or module names (q_proj, v_proj, c_attn, ... or canonical ids). */
  readonly targets: 'all-linear' | readonly string[];
  readonly rslora: boolean;
  /** DoRA (PEFT's use_dora): a trained magnitude per output feature over the normalised W + s·B·A. */
  readonly dora?: boolean;
  /** PEFT's init_lora_weights: "pissa" (exact SVD) or "pissa_niter_N" (randomized); absent: the default init. */
  readonly init?: LoraInit;
}

export interface LoraSettings {
  readonly r: number;
  readonly alpha: number;
  readonly dropout: number;
  readonly targets: readonly ModuleId[];
  readonly rslora: boolean;
  readonly dora?: boolean;
}

/** Where each module's output lands in tabtune's fused layout. */
function placeModule(cfg: ModelConfig, id: ModuleId): { site: Site | ExpertSite; col: number } {
  const d = dims(cfg);
  const expert = parseExpertModule(id);
  if (expert) {
    const inner = expert.expert < 0 ? cfg.moe!.sharedInner : cfg.moe!.expertInner;
    return { site: `expert.${expert.expert}.${expert.proj === 'down' ? 'down' : 'up'}`, col: expert.proj === 'up' ? inner : 0 };
  }
  switch (id) {
    case 'self_attn.q_proj': return { site: 'qkv', col: 0 };
    case 'self_attn.k_proj': return { site: 'qkv', col: d.qDim };
    case 'self_attn.v_proj': return { site: 'qkv', col: d.qDim + d.kvDim };
    case 'attn.c_attn': return { site: 'qkv', col: 0 };
    case 'self_attn.o_proj':
    case 'attn.c_proj': return { site: 'o', col: 0 };
    case 'mlp.gate_proj':
    case 'mlp.c_fc': return { site: 'up', col: 0 };
    case 'mlp.up_proj': return { site: 'up', col: d.inner };
    case 'mlp.down_proj':
    case 'mlp.c_proj': return { site: 'down', col: 0 };
    default: throw new Error(`no place for LoRA module ${id}`);
  }
}

/**
 * A LoRA adapter on the GPU: A [r, in] and B [out, r] for every target module of every layer,
 * packed in one trainable ParamStore. y = base(x) + scaling · B(A(dropout(x))).
 */
export class LoraAdapter {
  readonly modules: readonly LoraModule[];
  readonly scaling: number;
  readonly dora: DoraState | null;
  /** PiSSA: the initial A and B (the base holds W − s·B0·A0); the export subtracts them (pissa.ts). */
  pissaInitial: ReadonlyMap<string, Float32Array> | null = null;

  private constructor(
    gpu: Gpu,
    readonly cfg: ModelConfig,
    readonly settings: LoraSettings,
    readonly store: ParamStore,
    modules: LoraModule[],
  ) {
    this.modules = modules;
    this.scaling = loraScaling(settings.alpha, settings.r, settings.rslora);
    this.dora = settings.dora ? doraState(gpu, modules) : null;
  }

  /** The tensors of a DoRA module: its factors and magnitude over the site's base weight. */
  doraWeights(m: LoraModule, base: LinearWeight): DoraWeights {
    if (!('buffer' in base)) throw new Error('DoRA needs the base weights in f32 (this model holds them quantised or as f16)');
    return {
      base, a: this.store.get(m.a), b: this.store.get(m.b), magnitude: this.store.get(m.magnitude!), r: this.settings.r, scaling: this.scaling,
    };
  }

  static layout(cfg: ModelConfig, settings: LoraSettings): { modules: LoraModule[]; specs: ParamSpec[] } {
    if (!Number.isSafeInteger(settings.r) || settings.r <= 0) throw new RangeError(`LoRA rank must be a positive integer, got ${settings.r}`);
    if (!(settings.dropout >= 0 && settings.dropout < 1)) throw new RangeError(`LoRA dropout must be in [0, 1), got ${settings.dropout}`);
    const modules: LoraModule[] = [];
    const specs: ParamSpec[] = [];
    const order = linearModules(cfg.arch, cfg).filter((m) => settings.targets.includes(m.id));
    if (settings.dora && order.some((m) => parseExpertModule(m.id))) throw new RangeError('DoRA on mixture-of-experts experts is not supported');
    for (let layer = 0; layer < cfg.layers; layer++) {
      for (const [slot, m] of order.entries()) {
        const f = m.features(cfg);
        const a = `layers.${layer}.${m.id}.lora_A`;
        const b = `layers.${layer}.${m.id}.lora_B`;
        const magnitude = settings.dora ? `layers.${layer}.${m.id}.lora_magnitude_vector` : undefined;
        const doraOffset = modules.reduce((n, x) => n + (x.magnitude ? x.out : 0), 0);
        modules.push({ layer, id: m.id, ...placeModule(cfg, m.id), in: f.in, out: f.out, stream: modules.length + 1, slot, a, b, magnitude, doraOffset });
        specs.push({ name: a, shape: [settings.r, f.in], decay: true }, { name: b, shape: [f.out, settings.r], decay: true });
        if (magnitude) specs.push({ name: magnitude, shape: [f.out], decay: true });
      }
    }
    return { modules, specs };
  }

  /** PEFT's default init: A kaiming-uniform (a = √5, i.e. U(±1/√in)), B zero, so training starts at the base model. */
  static create(gpu: Gpu, cfg: ModelConfig, settings: LoraSettings, seed: number): LoraAdapter {
    const { modules, specs } = LoraAdapter.layout(cfg, settings);
    const store = ParamStore.create(gpu, specs, 'weights', 'lora');
    const rng = new Rng(seed);
    for (const m of modules) {
      const bound = 1 / Math.sqrt(m.in);
      const a = new Float32Array(settings.r * m.in);
      for (let i = 0; i < a.length; i++) a[i] = (rng.next() * 2 - 1) * bound;
      const t = store.get(m.a);
      gpu.write(t.buffer, a, t.offset * 4);
      if (m.magnitude) {
        // NaN: set to ‖W + s·B·A‖ by the first forward pass, where the base weights are at hand (as PEFT does).
        const mt = store.get(m.magnitude);
        gpu.write(mt.buffer, new Float32Array(m.out).fill(NaN), mt.offset * 4);
      }
    }
    return new LoraAdapter(gpu, cfg, settings, store, modules);
  }

  /** Imports a PEFT adapter folder; shapes must fit the model. */
  static async load(gpu: Gpu, cfg: ModelConfig, tree: FileTree | PeftAdapterFiles): Promise<LoraAdapter> {
    const read = 'settings' in tree ? tree : await readPeftAdapter(cfg, tree);
    const { modules, specs } = LoraAdapter.layout(cfg, read.settings);
    const store = ParamStore.create(gpu, specs, 'weights', 'lora');
    for (const [name, data] of read.values) {
      const t = store.get(name);
      gpu.write(t.buffer, data, t.offset * 4);
    }
    return new LoraAdapter(gpu, cfg, read.settings, store, modules);
  }

  /** adapter_config.json and adapter_model.safetensors as PEFT writes them. */
  async save(gpu: Gpu, baseModel: string | null): Promise<{ 'adapter_config.json': Uint8Array; 'adapter_model.safetensors': Uint8Array }> {
    const initial = this.pissaInitial;
    const r = initial ? 2 * this.settings.r : this.settings.r;
    const alpha = initial ? pissaAlpha(this.settings.alpha, this.settings.rslora) : this.settings.alpha;
    const config = adapterConfigJson({
      arch: this.cfg.arch, r, alpha, dropout: this.settings.dropout,
      targetModules: this.settings.targets, shape: this.cfg, useRslora: this.settings.rslora, useDora: !!this.settings.dora, baseModel,
    });
    const tensors = [];
    for (const m of this.modules) {
      for (const which of ['A', 'B'] as const) {
        const name = which === 'A' ? m.a : m.b;
        const t = this.store.get(name);
        let data = await gpu.readF32(t.buffer, t.offset * 4, t.shape[0]! * t.shape[1]!);
        let shape = [...t.shape];
        if (initial) {
          data = pissaAsLora(which, data, initial.get(name)!, this.settings.r, m.out);
          shape = which === 'A' ? [r, m.in] : [m.out, r];
        }
        tensors.push({ name: loraKey(this.cfg.arch, m.layer, m.id, which), dtype: 'F32' as const, shape, data });
      }
      if (m.magnitude) {
        const t = this.store.get(m.magnitude);
        const data = await gpu.readF32(t.buffer, t.offset * 4, m.out);
        if (data.some(Number.isNaN)) throw new Error('the DoRA magnitudes are set by the first forward pass; run the model once before saving');
        tensors.push({ name: magnitudeKey(this.cfg.arch, m.layer, m.id), dtype: 'F32' as const, shape: [m.out], data });
      }
    }
    tensors.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    return {
      'adapter_config.json': new TextEncoder().encode(JSON.stringify(config, null, 2)),
      'adapter_model.safetensors': writeSafetensors(tensors),
    };
  }

  /** Trainable parameter count. */
  get parameterCount(): number {
    return this.store.count;
  }

  destroy(): void {
    this.store.destroy();
    this.dora?.destroy();
  }
}


/** An adapter folder read and checked against a model config, on the CPU. */
export interface PeftAdapterFiles {
  readonly settings: LoraSettings;
  /** tabtune parameter name → values. */
  readonly values: ReadonlyMap<string, Float32Array>;
}

/** Reads adapter_config.json + adapter_model.safetensors; every tensor must fit the model. */
export async function readPeftAdapter(cfg: ModelConfig, tree: FileTree): Promise<PeftAdapterFiles> {
  const cfgFile = await tree.open('adapter_config.json');
  if (!cfgFile) throw new InputError(`${tree.name}/adapter_config.json`, 'not found (is this a PEFT adapter folder?)');
  const pc = parseAdapterConfig(await readJson(cfgFile), cfgFile.name);
  const src = await tree.open('adapter_model.safetensors');
  if (!src) {
    const bin = await tree.open('adapter_model.bin');
    const why = bin ? 'only adapter_model.bin (pickle) is present; convert it to safetensors' : 'not found';
    throw new InputError(`${tree.name}/adapter_model.safetensors`, why);
  }
  const file = await SafetensorsFile.open(src);
  const settings: LoraSettings = {
    r: pc.r, alpha: pc.alpha, dropout: pc.dropout, rslora: pc.useRslora, ...(pc.useDora && { dora: true }),
    targets: resolveTargets(cfg.arch, pc.targetModules, { exclude: pc.excludeModules, layers: cfg.layers, file: cfgFile.name, shape: cfg }),
  };
  const { specs } = LoraAdapter.layout(cfg, settings);
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, Float32Array>();
  for (const key of file.names()) {
    const parsed = parseLoraKey(key);
    const mag = parsed ? null : parseMagnitudeKey(key);
    if (!parsed && !mag) throw new InputError(src.name, 'not a LoRA A/B weight (or DoRA magnitude) tabtune can use', `tensor "${key}"`);
    const name = parsed ? `layers.${parsed.layer}.${parsed.module}.lora_${parsed.which}` : `layers.${mag!.layer}.${mag!.module}.lora_magnitude_vector`;
    const want = byName.get(name);
    if (!want) throw new InputError(src.name, `no such module in this ${cfg.arch} model with the adapter's target_modules`, `tensor "${key}"`);
    const info = file.info(key)!;
    if (info.shape.join() !== want.shape.join()) {
      throw new InputError(src.name, `shape [${info.shape}] does not fit the model: expected [${want.shape}] (r=${pc.r})`, `tensor "${key}"`);
    }
    values.set(name, await file.readF32(key));
  }
  const missing = specs.find((s) => !values.has(s.name));
  if (missing) throw new InputError(src.name, `missing tensor for ${missing.name} (adapter_config.json targets it)`);
  return { settings, values };
}

/** DoRA state sized for the adapter's modules. */
function doraState(gpu: Gpu, modules: readonly LoraModule[]): DoraState {
  const dora = modules.filter((m) => m.magnitude);
  const total = dora.reduce((n, m) => n + m.out, 0);
  return new DoraState(gpu, total, Math.max(...dora.map((m) => m.out)), Math.max(...dora.map((m) => m.out * m.in)));
}
