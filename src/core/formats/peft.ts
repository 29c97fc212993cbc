/**
 * PEFT LoRA adapters: `adapter_config.json` and the tensor key names of `adapter_model.safetensors`.
 *
 * Canonical module ids: tabtune names a LoRA-able linear layer by its module path relative to the
 * transformer block, which is unambiguous and also a valid PEFT `target_modules` entry (PEFT matches
 * list entries by exact name or by the suffix ".entry"):
 *   - Llama / Qwen2: `self_attn.q_proj`, `self_attn.k_proj`, `self_attn.v_proj`, `self_attn.o_proj`,
 *     `mlp.gate_proj`, `mlp.up_proj`, `mlp.down_proj`   (nn.Linear, weight [out, in])
 *   - GPT-2: `attn.c_attn`, `attn.c_proj`, `mlp.c_fc`, `mlp.c_proj`   (Conv1D, weight [in, out])
 * GPT-2 has two modules named `c_proj`; a PEFT target "c_proj" selects both.
 */
import { InputError } from '../errors.ts';

/** A config.json `model_type` (gpt2, llama, qwen2 …): PEFT's module names depend on its family. */
type Architecture = string;

/** The block sizes a linear module's shape follows (a model config carries them). */
export interface BlockShape {
  readonly hidden: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly intermediate: number;
  /** Mixture-of-experts blocks (Mixtral, Qwen2-MoE): their experts are LoRA-able modules too. */
  readonly moe?: { readonly experts: number; readonly expertInner: number; readonly sharedInner: number };
}

export type ModuleId =
  | 'self_attn.q_proj'
  | 'self_attn.k_proj'
  | 'self_attn.v_proj'
  | 'self_attn.o_proj'
  | 'mlp.gate_proj'
  | 'mlp.up_proj'
  | 'mlp.down_proj'
  | 'attn.c_attn'
  | 'attn.c_proj'
  | 'mlp.c_fc'
  | 'mlp.c_proj'
  | ExpertModuleId;

/** An expert's projection in a mixture-of-experts block (Mixtral's w1/w3/w2 are gate/up/down). */
export type ExpertModuleId =
  | `block_sparse_moe.experts.${number}.${'w1' | 'w2' | 'w3'}`
  | `mlp.experts.${number}.${'gate_proj' | 'up_proj' | 'down_proj'}`
  | `mlp.shared_expert.${string}`;

const EXPERT_ID_RE = new RegExp(
  '^(?:block_sparse_moe\\.experts\\.(\\d+)\\.(w[123])|mlp\\.experts\\.(\\d+)\\.(gate_proj|up_proj|down_proj)'
  + '|mlp\\.shared_expert\\.(gate_proj|up_proj|down_proj))$',
);

/** An expert module id's expert (-1 for the shared expert) and projection; null for other ids. */
export function parseExpertModule(id: string): { expert: number; proj: 'gate' | 'up' | 'down' } | null {
  const m = EXPERT_ID_RE.exec(id);
  if (!m) return null;
  const mixtral: Record<string, 'gate' | 'up' | 'down'> = { w1: 'gate', w3: 'up', w2: 'down' };
  if (m[1] !== undefined) return { expert: Number(m[1]), proj: mixtral[m[2]!]! };
  if (m[3] !== undefined) return { expert: Number(m[3]), proj: m[4]!.replace('_proj', '') as 'gate' | 'up' | 'down' };
  return { expert: -1, proj: m[5]!.replace('_proj', '') as 'gate' | 'up' | 'down' };
}

export interface LinearModule {
  /** Canonical id: the module path inside a block, e.g. `self_attn.q_proj`, `attn.c_proj`. */
  id: ModuleId;
  /** Last path component (`q_proj`, `c_proj`): what PEFT's "all-linear" writes into target_modules. */
  name: string;
  /** The sub-layer the module belongs to. */
  path: 'attn' | 'mlp';
  /** GPT-2's Conv1D (weight stored [in, out]; PEFT needs fan_in_fan_out). */
  conv1d: boolean;
  /** in_features and out_features for a model (lora_A is [r, in], lora_B is [out, r]). */
  features(cfg: BlockShape): { in: number; out: number };
}

type Family = 'llama' | 'gpt2';

const LLAMA_MODULES: readonly LinearModule[] = [
  { id: 'self_attn.q_proj', name: 'q_proj', path: 'attn', conv1d: false, features: (c) => ({ in: c.hidden, out: c.heads * c.headDim }) },
  { id: 'self_attn.k_proj', name: 'k_proj', path: 'attn', conv1d: false, features: (c) => ({ in: c.hidden, out: c.kvHeads * c.headDim }) },
  { id: 'self_attn.v_proj', name: 'v_proj', path: 'attn', conv1d: false, features: (c) => ({ in: c.hidden, out: c.kvHeads * c.headDim }) },
  { id: 'self_attn.o_proj', name: 'o_proj', path: 'attn', conv1d: false, features: (c) => ({ in: c.heads * c.headDim, out: c.hidden }) },
  { id: 'mlp.gate_proj', name: 'gate_proj', path: 'mlp', conv1d: false, features: (c) => ({ in: c.hidden, out: c.intermediate }) },
  { id: 'mlp.up_proj', name: 'up_proj', path: 'mlp', conv1d: false, features: (c) => ({ in: c.hidden, out: c.intermediate }) },
  { id: 'mlp.down_proj', name: 'down_proj', path: 'mlp', conv1d: false, features: (c) => ({ in: c.intermediate, out: c.hidden }) },
];

const GPT2_MODULES: readonly LinearModule[] = [
  { id: 'attn.c_attn', name: 'c_attn', path: 'attn', conv1d: true, features: (c) => ({ in: c.hidden, out: 3 * c.hidden }) },
  { id: 'attn.c_proj', name: 'c_proj', path: 'attn', conv1d: true, features: (c) => ({ in: c.hidden, out: c.hidden }) },
  { id: 'mlp.c_fc', name: 'c_fc', path: 'mlp', conv1d: true, features: (c) => ({ in: c.hidden, out: c.intermediate }) },
  { id: 'mlp.c_proj', name: 'c_proj', path: 'mlp', conv1d: true, features: (c) => ({ in: c.intermediate, out: c.hidden }) },
];

function family(arch: Architecture): Family {
  return arch === 'gpt2' ? 'gpt2' : 'llama';
}

/** Mixture-of-experts families: attention as Llama's, then every expert's projections (no dense MLP). */
const MOE_EXPERTS: Record<string, (e: number) => { path: string; names: [string, string, string] }> = {
  mixtral: (e) => ({ path: `block_sparse_moe.experts.${e}`, names: ['w1', 'w3', 'w2'] }),
  qwen2_moe: (e) => ({ path: e < 0 ? 'mlp.shared_expert' : `mlp.experts.${e}`, names: ['gate_proj', 'up_proj', 'down_proj'] }),
  olmoe: (e) => ({ path: `mlp.experts.${e}`, names: ['gate_proj', 'up_proj', 'down_proj'] }),
};

function expertModules(arch: Architecture, moe: NonNullable<BlockShape['moe']>): LinearModule[] {
  const out: LinearModule[] = [];
  const experts = [...Array(moe.experts).keys(), ...(moe.sharedInner > 0 ? [-1] : [])];
  for (const e of experts) {
    const { path, names } = MOE_EXPERTS[arch]!(e);
    const inner = (c: BlockShape) => (e < 0 ? c.moe!.sharedInner : c.moe!.expertInner);
    const [gate, up, down] = names;
    const mod = (name: string, features: LinearModule['features']): LinearModule =>
      ({ id: `${path}.${name}` as ModuleId, name, path: 'mlp', conv1d: false, features });
    out.push(
      mod(gate, (c) => ({ in: c.hidden, out: inner(c) })),
      mod(up, (c) => ({ in: c.hidden, out: inner(c) })),
      mod(down, (c) => ({ in: inner(c), out: c.hidden })),
    );
  }
  return out;
}

/**
 * The LoRA-able linear layers of one transformer block, in a fixed order. A mixture-of-experts
 * family needs the block's shape for its experts (without it: attention only).
 */
export function linearModules(arch: Architecture, shape?: BlockShape): readonly LinearModule[] {
  if (family(arch) === 'gpt2') return GPT2_MODULES;
  if (!MOE_EXPERTS[arch]) return LLAMA_MODULES;
  const attention = LLAMA_MODULES.filter((m) => m.path === 'attn');
  return shape?.moe ? [...attention, ...expertModules(arch, shape.moe)] : attention;
}

/** Module path prefix of the blocks in the transformers model: `model.layers` or `transformer.h`. */
export function blockPrefix(arch: Architecture): string {
  return family(arch) === 'gpt2' ? 'transformer.h' : 'model.layers';
}

/** Modules that exist in the model but that tabtune cannot adapt (PEFT could). */
function unsupportedPaths(arch: Architecture): string[] {
  return family(arch) === 'gpt2' ? ['lm_head', 'transformer.wte', 'transformer.wpe'] : ['lm_head', 'model.embed_tokens'];
}

/** PEFT's default targets when target_modules is null (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
const PEFT_DEFAULT_TARGETS: Record<Family, string[]> = { gpt2: ['c_attn'], llama: ['q_proj', 'v_proj'] };

/** Resolves a canonical id or an unambiguous short name (`q_proj`) to a module. */
export function findModule(arch: Architecture, module: string, shape?: BlockShape): LinearModule {
  const mods = linearModules(arch, shape);
  const exact = mods.find((m) => m.id === module);
  if (exact) return exact;
  const byName = mods.filter((m) => m.name === module);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) throw new Error(`module "${module}" is ambiguous for ${arch}: use ${byName.map((m) => m.id).join(' or ')}`);
  throw new Error(`${arch} has no LoRA-able module "${module}" (modules: ${mods.map((m) => m.id).join(', ')})`);
}

// ---------------------------------------------------------------------------------------------
// Tensor keys

/** PEFT's key for a LoRA factor, e.g. `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`. */
export function loraKey(arch: Architecture, layer: number, module: string, which: 'A' | 'B'): string {
  if (!Number.isSafeInteger(layer) || layer < 0) throw new RangeError(`bad layer index ${layer}`);
  const id = parseExpertModule(module) ? module : findModule(arch, module).id;
  return `base_model.model.${blockPrefix(arch)}.${layer}.${id}.lora_${which}.weight`;
}

const KEY_RE = /^base_model\.model\.(model\.layers|layers|transformer\.h|h)\.(\d+)\.([A-Za-z0-9_.]+?)\.lora_([AB])(?:\.default)?\.weight$/;

/**
 * Parses a PEFT LoRA key (with or without the adapter name `.default` before `.weight`). Returns
 * null for anything else (biases, DoRA magnitudes, embedding LoRA, lm_head, unknown modules).
 * `family` says which naming the key uses: Llama/Qwen2 (`model.layers`) or GPT-2 (`transformer.h`).
 */
export function parseLoraKey(key: string): { layer: number; module: ModuleId; which: 'A' | 'B'; family: Family } | null {
  const m = KEY_RE.exec(key);
  if (!m) return null;
  const fam: Family = m[1] === 'transformer.h' || m[1] === 'h' ? 'gpt2' : 'llama';
  const mods = fam === 'gpt2' ? GPT2_MODULES : LLAMA_MODULES;
  const mod = mods.find((x) => x.id === m[3])?.id ?? (fam === 'llama' && parseExpertModule(m[3]!) ? (m[3] as ModuleId) : undefined);
  if (!mod) return null;
  const layer = Number(m[2]);
  if (!Number.isSafeInteger(layer)) return null;
  return { layer, module: mod, which: m[4] as 'A' | 'B', family: fam };
}

/**
 * PEFT's key for a DoRA magnitude vector [out], e.g. `base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector`
 * (PEFT's state dict drops the `.weight` of its DoraLinearLayer so the format predates that refactor).
 */
export function magnitudeKey(arch: Architecture, layer: number, module: string): string {
  return loraKey(arch, layer, module, 'A').replace(/\.lora_A\.weight$/, '.lora_magnitude_vector');
}

const MAGNITUDE_RE =
  /^(base_model\.model\.(?:model\.layers|layers|transformer\.h|h)\.\d+\.[A-Za-z0-9_.]+?)\.lora_magnitude_vector(?:\.default)?(?:\.weight)?$/;

/** Parses a DoRA magnitude key (with or without `.default` / `.weight`); null for anything else. */
export function parseMagnitudeKey(key: string): { layer: number; module: ModuleId; family: Family } | null {
  const m = MAGNITUDE_RE.exec(key);
  const parsed = m ? parseLoraKey(`${m[1]}.lora_A.weight`) : null;
  return parsed && { layer: parsed.layer, module: parsed.module, family: parsed.family };
}

// ---------------------------------------------------------------------------------------------
// adapter_config.json

export type LoraBias = 'none' | 'all' | 'lora_only';

export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  /** As written: a list of names (exact or suffix match), a regex string, "all-linear", or null (PEFT's per-model default). */
  targetModules: string[] | string | null;
  /** As written: modules to leave out (list or regex string), or null. */
  excludeModules: string[] | string | null;
  fanInFanOut: boolean;
  useRslora: boolean;
  useDora: boolean;
  bias: LoraBias;
  baseModel: string | null;
  /** alpha / r, or alpha / sqrt(r) with rsLoRA. */
  scaling: number;
  modulesToSave: string[] | null;
  raw: Record<string, unknown>;
}

export function loraScaling(alpha: number, r: number, useRslora: boolean): number {
  return useRslora ? alpha / Math.sqrt(r) : alpha / r;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObject(v)) return Object.keys(v).length === 0;
  return false;
}

function stringListOrRegex(file: string, key: string, v: unknown): string[] | string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return [...v] as string[];
  throw new InputError(file, `must be a list of module names or a regex string, got ${JSON.stringify(v)}`, key);
}

/** Parses adapter_config.json. Features that change the math and that tabtune lacks are refused. */
export function parseAdapterConfig(json: unknown, file = 'adapter_config.json'): LoraConfig {
  if (!isObject(json)) throw new InputError(file, 'not a JSON object');
  const peftType = json['peft_type'];
  if (peftType === undefined || peftType === null) throw new InputError(file, 'missing (required; only "LORA" is supported)', 'peft_type');
  if (peftType !== 'LORA') throw new InputError(file, `adapter type ${JSON.stringify(peftType)} is not supported (only LORA)`, 'peft_type');

  const num = (key: string, fallback: number): number => {
    const v = json[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(file, `must be a number, got ${JSON.stringify(v)}`, key);
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = json[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') throw new InputError(file, `must be true or false, got ${JSON.stringify(v)}`, key);
    return v;
  };

  // Defaults are PEFT's LoraConfig defaults.
  const r = num('r', 8);
  if (!Number.isSafeInteger(r) || r <= 0) throw new InputError(file, `rank must be a positive integer, got ${r}`, 'r');
  const alpha = num('lora_alpha', 8);
  const dropout = num('lora_dropout', 0);
  if (dropout < 0 || dropout >= 1) throw new InputError(file, `must be in [0, 1), got ${dropout}`, 'lora_dropout');
  const useDora = bool('use_dora', false);
  const useRslora = bool('use_rslora', false);
  const fanInFanOut = bool('fan_in_fan_out', false);
  const bias = json['bias'] ?? 'none';
  if (bias !== 'none' && bias !== 'all' && bias !== 'lora_only') {
    throw new InputError(file, `must be "none", "all" or "lora_only", got ${JSON.stringify(bias)}`, 'bias');
  }

  const unsupported: [string, string][] = [
    ['rank_pattern', 'per-module ranks (rank_pattern) are not supported yet'],
    ['alpha_pattern', 'per-module alphas (alpha_pattern) are not supported yet'],
    ['layers_to_transform', 'adapting only some layers (layers_to_transform) is not supported yet'],
    ['layer_replication', 'layer replication is not supported'],
    ['lora_bias', 'LoRA biases (lora_bias) are not supported'],
    ['target_parameters', 'LoRA on parameters (target_parameters) is not supported'],
    ['trainable_token_indices', 'trainable token indices are not supported'],
    ['alora_invocation_tokens', 'activated LoRA (alora_invocation_tokens) is not supported'],
    ['use_qalora', 'QA-LoRA is not supported'],
  ];
  for (const [key, reason] of unsupported) {
    if (!isEmpty(json[key])) throw new InputError(file, reason, key);
  }

  const base = json['base_model_name_or_path'];
  if (base !== undefined && base !== null && typeof base !== 'string') throw new InputError(file, 'must be a string or null', 'base_model_name_or_path');
  const mts = json['modules_to_save'];
  let modulesToSave: string[] | null = null;
  if (mts !== undefined && mts !== null) {
    if (!Array.isArray(mts) || !mts.every((s) => typeof s === 'string')) {
      throw new InputError(file, 'must be a list of module names or null', 'modules_to_save');
    }
    modulesToSave = [...mts] as string[];
  }

  return {
    r,
    alpha,
    dropout,
    targetModules: stringListOrRegex(file, 'target_modules', json['target_modules']),
    excludeModules: stringListOrRegex(file, 'exclude_modules', json['exclude_modules']),
    fanInFanOut,
    useRslora,
    useDora,
    bias,
    baseModel: typeof base === 'string' ? base : null,
    scaling: loraScaling(alpha, r, useRslora),
    modulesToSave,
    raw: json,
  };
}

/** What tabtune needs to say to write an adapter_config.json. */
export interface AdapterConfigOptions {
  arch: Architecture;
  r: number;
  alpha: number;
  dropout?: number;
  /** Canonical ids or unambiguous short names of the adapted modules. */
  targetModules: readonly string[];
  useRslora?: boolean;
  useDora?: boolean;
  baseModel?: string | null;
  /** The model's block shape (mixture-of-experts models list their experts' modules). */
  shape?: BlockShape;
}

/**
 * The target_modules list to write: short names where they are unambiguous (or where every module
 * of that name is adapted, as GPT-2's two c_proj), the canonical id otherwise (`attn.c_proj`).
 */
export function targetModulesList(arch: Architecture, modules: readonly string[], shape?: BlockShape): string[] {
  const mods = linearModules(arch, shape);
  const chosen = new Set(modules.map((m) => findModule(arch, m, shape).id));
  const out: string[] = [];
  for (const m of mods) {
    if (!chosen.has(m.id)) continue;
    const same = mods.filter((x) => x.name === m.name);
    const entry = same.every((x) => chosen.has(x.id)) ? m.name : m.id;
    if (!out.includes(entry)) out.push(entry);
  }
  return out;
}

/**
 * adapter_config.json contents with every key PEFT 0.21 writes (sorted, as PEFT writes them),
 * an explicit target list, task_type CAUSAL_LM, inference_mode true and fan_in_fan_out true for
 * GPT-2's Conv1D.
 */
export function adapterConfigJson(cfg: AdapterConfigOptions): Record<string, unknown> {
  if (!Number.isSafeInteger(cfg.r) || cfg.r <= 0) throw new RangeError(`LoRA rank must be a positive integer, got ${cfg.r}`);
  const targets = targetModulesList(cfg.arch, cfg.targetModules, cfg.shape);
  if (targets.length === 0) throw new RangeError('an adapter needs at least one target module');
  const obj: Record<string, unknown> = {
    alora_invocation_tokens: null,
    alpha_pattern: {},
    arrow_config: null,
    auto_mapping: null,
    base_model_name_or_path: cfg.baseModel ?? null,
    bias: 'none',
    corda_config: null,
    ensure_weight_tying: false,
    eva_config: null,
    exclude_modules: null,
    fan_in_fan_out: cfg.arch === 'gpt2',
    inference_mode: true,
    init_lora_weights: true,
    kasa_config: null,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: cfg.alpha,
    lora_bias: false,
    lora_dropout: cfg.dropout ?? 0,
    lora_ga_config: null,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    monteclora_config: null,
    peft_type: 'LORA',
    peft_version: '0.21.0',
    qalora_group_size: 16,
    r: cfg.r,
    rank_pattern: {},
    revision: null,
    target_modules: targets,
    target_parameters: null,
    task_type: 'CAUSAL_LM',
    trainable_token_indices: null,
    use_bdlora: null,
    use_dora: cfg.useDora ?? false,
    use_qalora: false,
    use_rslora: cfg.useRslora ?? false,
    velora_config: null,
  };
  return obj;
}

// ---------------------------------------------------------------------------------------------
// Target matching

/** Python `re` syntax that JavaScript spells differently. */
function pythonRegex(file: string, key: string, pattern: string): RegExp {
  const js = pattern
    .replace(/\(\?P<([A-Za-z_][A-Za-z0-9_]*)>/g, '(?<$1>')
    .replace(/\(\?P=([A-Za-z_][A-Za-z0-9_]*)\)/g, '\\k<$1>')
    .replace(/\\A/g, '^')
    .replace(/\\Z/g, '$');
  try {
    return new RegExp(`^(?:${js})$`);
  } catch (e) {
    throw new InputError(file, `regex ${JSON.stringify(pattern)} is not supported here (${(e as Error).message})`, key);
  }
}

/** PEFT's rule: a list entry matches a module path exactly or as a suffix after a dot; a string is a regex fullmatch. */
function matcher(file: string, key: string, spec: string[] | string): (path: string) => boolean {
  if (typeof spec === 'string') {
    const re = pythonRegex(file, key, spec);
    return (p) => re.test(p);
  }
  return (p) => spec.some((t) => p === t || p.endsWith(`.${t}`));
}

export interface ResolveOptions {
  /** exclude_modules, with the same matching rules. */
  exclude?: string[] | string | null;
  /**
   * Number of layers of the model. Targets are matched against every layer's module paths, and a
   * selection that differs between layers is refused. Default 1 (layer 0 only).
   */
  layers?: number;
  /** The model's block shape (mixture-of-experts models: their experts are targets too). */
  shape?: BlockShape;
  /** File named in errors. */
  file?: string;
}

/**
 * The canonical ids (see the file comment) that PEFT would adapt in every block, in
 * linearModules order. `targets`: a list (exact or ".suffix" matches on module paths such as
 * `model.layers.0.self_attn.q_proj`), "all-linear" (every linear layer but the output head), a regex
 * string (fullmatch on the module path), or null (PEFT's default for the model type).
 */
export function resolveTargets(arch: Architecture, targets: string[] | string | null | undefined, opts: ResolveOptions = {}): ModuleId[] {
  const file = opts.file ?? 'adapter_config.json';
  const layers = opts.layers ?? 1;
  const mods = linearModules(arch, opts.shape);
  const prefix = blockPrefix(arch);
  const spec = targets ?? PEFT_DEFAULT_TARGETS[family(arch)];
  const all = typeof spec === 'string' && spec.toLowerCase() === 'all-linear';
  const match = all ? () => true : matcher(file, 'target_modules', spec);
  const exclude = opts.exclude == null || (Array.isArray(opts.exclude) && opts.exclude.length === 0) ? null : matcher(file, 'exclude_modules', opts.exclude);

  if (!all) {
    for (const p of unsupportedPaths(arch)) {
      if (match(p) && !exclude?.(p)) throw new InputError(file, `adapting ${p} is not supported (only the linear layers inside the blocks)`, 'target_modules');
    }
  }
  let selected: ModuleId[] | null = null;
  for (let i = 0; i < layers; i++) {
    const here = mods.filter((m) => {
      const path = `${prefix}.${i}.${m.id}`;
      return match(path) && !exclude?.(path);
    }).map((m) => m.id);
    if (selected === null) selected = here;
    else if (here.join() !== selected.join()) {
      const differ = `layer 0: ${selected.join(', ') || 'none'}; layer ${i}: ${here.join(', ') || 'none'}`;
      throw new InputError(file, `targets differ between layers (${differ}); per-layer targets are not supported yet`, 'target_modules');
    }
  }
  if (!selected || selected.length === 0) {
    throw new InputError(file, `${JSON.stringify(spec)} matches none of the ${arch} linear layers (${mods.map((m) => m.id).join(', ')})`, 'target_modules');
  }
  return selected;
}
