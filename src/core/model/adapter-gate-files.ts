/**
 * The adapter gate on disk, beside the adapters it mixes (which stay ordinary PEFT folders):
 * gate.safetensors holds `model.layers.{l}.adapter_gate.weight` [K, H] and `.bias` [K];
 * gate_config.json names the adapters in gate order (with their folders), the layers, the
 * gate's input and K, so a loader can refuse a mismatched set with one line.
 */
import { InputError } from '../errors.ts';
import { readJson, type FileTree } from '../formats/bytes.ts';
import { parseAdapterConfig } from '../formats/peft.ts';
import { SafetensorsFile, writeSafetensors } from '../formats/safetensors.ts';
import type { ModelConfig } from './config.ts';
import { gateBias, gateWeight, type AdapterGate } from './adapter-gate.ts';
import type { GateAdapter } from './adapter-gate-stack.ts';
import { readPeftAdapter } from './lora.ts';

export const GATE_CONFIG = 'gate_config.json';
export const GATE_WEIGHTS = 'gate.safetensors';
/** What the gate reads: each layer's input norm output (the q/k/v projections' input). */
export const GATE_INPUT = 'input_layernorm';

export interface GateConfig {
  readonly adapters: readonly { readonly name: string; readonly path: string | null; readonly r: number }[];
  readonly numAdapters: number;
  readonly layers: number;
  readonly hiddenSize: number;
  readonly baseModel: string | null;
}

const hfKey = (name: string) => `model.${name.replace('.gate.', '.adapter_gate.')}`;

/** gate_config.json and gate.safetensors of a gate; `paths[k]` is where adapter k lives (or null). */
export async function gateFiles(
  gate: AdapterGate, paths: readonly (string | null)[], baseModel: string | null,
): Promise<{ 'gate_config.json': Uint8Array; 'gate.safetensors': Uint8Array }> {
  const config = {
    gate_type: 'token_softmax', gate_input: GATE_INPUT, num_adapters: gate.K, num_layers: gate.cfg.layers, hidden_size: gate.cfg.hidden,
    adapters: gate.names.map((name, k) => ({ name, path: paths[k] ?? null, r: gate.ranks[k] })),
    base_model_name_or_path: baseModel,
  };
  const values = await gate.values();
  const tensors = [...values].map(([name, data]) => ({ name: hfKey(name), dtype: 'F32' as const, shape: [...gate.params.get(name).shape], data }));
  tensors.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return { 'gate_config.json': new TextEncoder().encode(JSON.stringify(config, null, 2)), 'gate.safetensors': writeSafetensors(tensors) };
}

/** Reads and checks gate_config.json against the model. */
export async function readGateConfig(tree: FileTree, cfg: ModelConfig): Promise<GateConfig> {
  const src = await tree.open(GATE_CONFIG);
  if (!src) throw new InputError(`${tree.name}/${GATE_CONFIG}`, 'not found (is this a folder written by tabtune train-gate?)');
  const j = await readJson<Record<string, unknown>>(src);
  const num = (key: string) => {
    const v = j[key];
    if (!Number.isSafeInteger(v) || (v as number) < 1) throw new InputError(src.name, `must be a positive integer, got ${JSON.stringify(v)}`, key);
    return v as number;
  };
  if (j.gate_type !== 'token_softmax') throw new InputError(src.name, `must be "token_softmax", got ${JSON.stringify(j.gate_type)}`, 'gate_type');
  if (j.gate_input !== GATE_INPUT) throw new InputError(src.name, `must be "${GATE_INPUT}", got ${JSON.stringify(j.gate_input)}`, 'gate_input');
  const K = num('num_adapters');
  const list = j.adapters;
  if (!Array.isArray(list) || list.length !== K) throw new InputError(src.name, `must list num_adapters (${K}) adapters`, 'adapters');
  const adapters = list.map((a: Record<string, unknown>, k) => {
    if (typeof a?.name !== 'string') throw new InputError(src.name, 'needs a "name" string', `adapters[${k}]`);
    return { name: a.name, path: typeof a.path === 'string' ? a.path : null, r: Number(a.r) };
  });
  const layers = num('num_layers');
  const hiddenSize = num('hidden_size');
  if (layers !== cfg.layers || hiddenSize !== cfg.hidden) {
    throw new InputError(src.name, `the gate is for ${layers} layers of width ${hiddenSize}; this model has ${cfg.layers} of ${cfg.hidden}`);
  }
  const base = j.base_model_name_or_path;
  return { adapters, numAdapters: K, layers, hiddenSize, baseModel: typeof base === 'string' ? base : null };
}

/** Reads gate.safetensors: every layer's weight and bias, shapes checked. */
export async function readGateWeights(tree: FileTree, config: GateConfig): Promise<Map<string, Float32Array>> {
  const src = await tree.open(GATE_WEIGHTS);
  if (!src) throw new InputError(`${tree.name}/${GATE_WEIGHTS}`, 'not found');
  const file = await SafetensorsFile.open(src);
  const want = new Map<string, number[]>();
  for (let l = 0; l < config.layers; l++) {
    want.set(gateWeight(l), [config.numAdapters, config.hiddenSize]);
    want.set(gateBias(l), [config.numAdapters]);
  }
  const values = new Map<string, Float32Array>();
  for (const [name, shape] of want) {
    const key = hfKey(name);
    const info = file.info(key);
    if (!info) throw new InputError(src.name, 'missing', `tensor "${key}"`);
    if (info.shape.join() !== shape.join()) throw new InputError(src.name, `shape [${info.shape}], expected [${shape}]`, `tensor "${key}"`);
    values.set(name, await file.readF32(key));
  }
  const extra = file.names().find((n) => !values.has(n.replace(/^model\./, '').replace('.adapter_gate.', '.gate.')));
  if (extra) throw new InputError(src.name, 'not an adapter-gate tensor', `tensor "${extra}"`);
  return values;
}

/** A PEFT adapter folder as one of a gate's adapters (with the base model its config names). */
export async function readGateAdapter(name: string, cfg: ModelConfig, tree: FileTree): Promise<GateAdapter> {
  const files = await readPeftAdapter(cfg, tree);
  const src = (await tree.open('adapter_config.json'))!;
  return { name, files, baseModel: parseAdapterConfig(await readJson(src), src.name).baseModel };
}
