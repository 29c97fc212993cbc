import type { DatasetRecord, RecordKind } from '../data/records.ts';
import { modelLinearModules } from '../model/lora-targets.ts';
import type { Session } from '../session.ts';
import type { TrainConfig } from './config.ts';
import type { TrainEvent } from './events.ts';
import { datasetHash } from '../data/hash.ts';
import { sha256Hex } from '../data/sha256.ts';
import { manifestMetrics, trlConfig, type RunManifest } from './manifest.ts';
import { preferenceTrlConfig } from './preference/trl-config.ts';
import { changedTensorsJson } from './changed-tensors.ts';
import type { MethodOptions } from './preference/method.ts';

export const TABTUNE_VERSION = '0.1.0';

export function datasetFormat(records: readonly DatasetRecord[]): RunManifest['dataset']['format'] {
  const kinds = new Set<RecordKind>(records.map((r) => r.record.kind));
  if (kinds.size !== 1) return 'mixed';
  const k = [...kinds][0]!;
  return k === 'prompt' ? 'prompt-completion' : k;
}

export interface RunDescription {
  readonly model: { readonly name: string; readonly source: unknown };
  readonly dataset: Omit<RunManifest['dataset'], 'chatTemplate' | 'format' | 'hash'> & { readonly records: readonly DatasetRecord[] };
  readonly config: TrainConfig;
  readonly seq: number;
  readonly totalSteps: number;
  readonly events: readonly TrainEvent[];
  /** Preference and GRPO runs: the method's options, and the hash and format of their data (records are empty). */
  readonly preference?: { readonly options: MethodOptions; readonly hash: string; readonly format: 'preference' | 'unpaired-preference' | 'prompt-only' };
}

/**
 * What a finished (or stopped) run leaves behind: the PEFT adapter (or, for full fine-tuning, the
 * model folder), run_manifest.json, and the same run as TRL + PEFT configuration.
 */
export async function runFiles(session: Session, run: RunDescription): Promise<Record<string, Uint8Array>> {
  const m = session.requireModel();
  const full = run.config.method === 'full';
  const weights = full ? await session.saveMerged() : await session.saveAdapter();
  const weightsFile = full ? weights['model.safetensors']! : weights['adapter_model.safetensors']!;
  const targets = full ? [] : modelLinearModules(m.cfg).filter((x) => m.lora!.settings.targets.includes(x.id)).map((x) => x.name);
  const { records, ...dataset } = run.dataset;
  const manifest: RunManifest = {
    tabtune: TABTUNE_VERSION,
    createdAt: new Date().toISOString(),
    model: { name: run.model.name, source: run.model.source, arch: m.cfg.arch, parameters: m.weights.store.count, dtype: m.cfg.dtype },
    dataset: {
      ...dataset,
      hash: run.preference?.hash ?? (await datasetHash(records)),
      format: run.preference?.format ?? datasetFormat(records),
      chatTemplate: session.tokenizer?.chatTemplate ?? null,
    },
    config: run.config,
    seq: run.seq,
    totalSteps: run.totalSteps,
    metrics: manifestMetrics(run.events),
    adapterHash: await sha256Hex(weightsFile),
    targetModules: [...new Set(targets)],
    ...(run.preference && { preference: run.preference.options }),
  };
  const trl = run.preference ? preferenceTrlConfig(manifest, m.cfg, run.preference.options) : trlConfig(manifest, m.cfg);
  const enc = (s: string) => new TextEncoder().encode(s);
  return {
    ...weights,
    'run_manifest.json': enc(`${JSON.stringify(manifest, null, 2)}\n`),
    'trl_config.yaml': enc(trl.yaml),
    'train_trl.py': enc(trl.python),
    ...(full && { 'changed_tensors.json': changedTensorsJson(m.cfg, m.weights.chunks, run.config, run.totalSteps) }),
  };
}
