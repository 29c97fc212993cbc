/**
 * K frozen LoRA adapters as one stacked LoRA of rank R = Σ r_k: each module's A holds the
 * adapters' A rows one block after another and B their columns, each B block times its adapter's
 * own scaling (so the stack's scaling is 1); an adapter without the module contributes a zero
 * block. Then Σ_k g_k·s_k·(x·A_kᵀ)·B_kᵀ is the stacked LoRA with t's column block k scaled by g_k.
 */
import { InputError } from '../errors.ts';
import { linearModules, loraScaling, parseExpertModule } from '../formats/peft.ts';
import type { ModelConfig } from './config.ts';
import type { LoraSettings, PeftAdapterFiles } from './lora.ts';

/** One adapter of a gate: its name, its files, and the base model its adapter_config.json names. */
export interface GateAdapter {
  readonly name: string;
  readonly files: PeftAdapterFiles;
  readonly baseModel: string | null;
}

export interface AdapterStack {
  /** The stacked adapter, ready for LoraAdapter.load. */
  readonly files: PeftAdapterFiles;
  readonly ranks: readonly number[];
  /** Adapter index of every stacked rank column. */
  readonly owner: Uint32Array;
}

/** Refuses what a gate cannot mix: DoRA, MoE experts, adapters of different base models, fewer than two. */
export function checkGateAdapters(adapters: readonly GateAdapter[]): void {
  if (adapters.length < 2) throw new InputError('--adapter', `a gate mixes two or more adapters, got ${adapters.length}`);
  for (const a of adapters) {
    if (a.files.settings.dora) throw new InputError(`adapter "${a.name}"`, 'is a DoRA adapter; the adapter gate mixes plain LoRA adapters only');
    if (a.files.settings.targets.some((t) => parseExpertModule(t))) {
      throw new InputError(`adapter "${a.name}"`, 'adapts mixture-of-experts experts; the adapter gate mixes dense-layer adapters only');
    }
  }
  const named = adapters.filter((a) => a.baseModel !== null);
  const other = named.find((a) => a.baseModel !== named[0]!.baseModel);
  if (other) {
    const why = `was trained on "${other.baseModel}" but adapter "${named[0]!.name}" on "${named[0]!.baseModel}"; a gate mixes adapters of one base`;
    throw new InputError(`adapter "${other.name}"`, why);
  }
}

export function stackAdapters(cfg: ModelConfig, adapters: readonly GateAdapter[]): AdapterStack {
  checkGateAdapters(adapters);
  const ranks = adapters.map((a) => a.files.settings.r);
  const R = ranks.reduce((n, r) => n + r, 0);
  const starts = ranks.map((_, k) => ranks.slice(0, k).reduce((n, r) => n + r, 0));
  const owner = new Uint32Array(R);
  ranks.forEach((r, k) => owner.fill(k, starts[k]!, starts[k]! + r));
  const used = new Set(adapters.flatMap((a) => a.files.settings.targets));
  const modules = linearModules(cfg.arch, cfg).filter((m) => used.has(m.id));
  const values = new Map<string, Float32Array>();
  for (let layer = 0; layer < cfg.layers; layer++) {
    for (const m of modules) {
      const f = m.features(cfg);
      const A = new Float32Array(R * f.in);
      const B = new Float32Array(f.out * R);
      adapters.forEach((ad, k) => {
        const s = ad.files.settings;
        const a = ad.files.values.get(`layers.${layer}.${m.id}.lora_A`);
        const b = ad.files.values.get(`layers.${layer}.${m.id}.lora_B`);
        if (!a || !b) return;
        const scale = loraScaling(s.alpha, s.r, s.rslora);
        A.set(a, starts[k]! * f.in);
        for (let o = 0; o < f.out; o++) for (let j = 0; j < s.r; j++) B[o * R + starts[k]! + j] = scale * b[o * s.r + j]!;
      });
      values.set(`layers.${layer}.${m.id}.lora_A`, A);
      values.set(`layers.${layer}.${m.id}.lora_B`, B);
    }
  }
  // alpha = r: scaling 1 (each block already carries its adapter's scaling); no dropout, the adapters are frozen.
  const settings: LoraSettings = { r: R, alpha: R, dropout: 0, rslora: false, targets: modules.map((m) => m.id) };
  return { files: { settings, values }, ranks, owner };
}
