import { importDataset, type AlpacaAs, type ColumnMapping, type TextMode } from '../data/import.ts';
import type { DatasetRecord, RecordKind, RecordProblem } from '../data/records.ts';
import { datasetHash } from '../data/hash.ts';
import { newId, type KeyValueStore } from './store.ts';
import { preferenceImport, type PreferenceKind } from './preference-import.ts';
import type { FeedbackLineage } from './feedback.ts';

export interface DatasetOptions {
  readonly columns?: ColumnMapping;
  readonly alpacaAs?: AlpacaAs;
  readonly textMode?: TextMode;
  readonly validationFraction: number;
  readonly splitSeed: number;
  readonly maxLength: number;
  readonly maskPrompt: boolean;
  readonly packing: boolean;
}

export const DEFAULT_DATASET_OPTIONS: DatasetOptions = { validationFraction: 0.1, splitSeed: 42, maxLength: 256, maskPrompt: true, packing: true };

export interface DatasetVersion {
  readonly version: number;
  readonly createdAt: number;
  readonly records: number;
  readonly origin: { readonly kind: 'import' } | { readonly kind: 'prepare'; readonly from: number; readonly config: unknown };
  readonly report?: unknown;
}

export interface DatasetMeta {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  readonly format: string;
  readonly kinds: Readonly<Record<RecordKind, number>>;
  readonly columns: readonly string[];
  readonly records: number;
  readonly problems: readonly RecordProblem[];
  readonly problemCount: number;
  readonly options: DatasetOptions;
  readonly versions: readonly DatasetVersion[];
  readonly currentVersion: number;
  readonly hash: string;
  /** Preference data (TRL pairs or KTO examples), for DPO/ORPO/SimPO (paired) or KTO (unpaired) runs. */
  readonly preference?: PreferenceKind;
  /** Made from the playground's feedback on a run. */
  readonly feedback?: FeedbackLineage;
}

/** Options that change how the file is read (a change re-imports it). */
const PARSE_KEYS = ['columns', 'alpacaAs', 'textMode'] as const;

const key = {
  meta: (id: string) => `dataset:${id}`,
  raw: (id: string) => `dataset-raw:${id}`,
  records: (id: string, v: number) => `dataset-records:${id}:${v}`,
};

/**
 * Datasets kept in the browser (IndexedDB): the file as imported, its records, and every
 * prepared version with its report. The original is never changed; preparation adds versions.
 */
export class DatasetLibrary {
  constructor(private readonly store: KeyValueStore) {}

  async import(name: string, bytes: Uint8Array, options: Partial<DatasetOptions> = {}, feedback?: FeedbackLineage): Promise<DatasetMeta> {
    const id = newId('ds');
    const opts = { ...DEFAULT_DATASET_OPTIONS, ...options };
    const pref = preferenceImport(name, bytes);
    const parsed = pref ?? importDataset(name, bytes, { columns: opts.columns, alpacaAs: opts.alpacaAs, textMode: opts.textMode });
    const now = Date.now();
    const meta: DatasetMeta = {
      id, name, createdAt: now, format: parsed.format, kinds: parsed.kinds, columns: parsed.columns,
      records: parsed.records.length, problems: parsed.problems.slice(0, 200), problemCount: parsed.problems.length, options: opts,
      versions: [{ version: 1, createdAt: now, records: parsed.records.length, origin: { kind: 'import' } }], currentVersion: 1,
      hash: await datasetHash(parsed.records),
      ...(pref ? { preference: pref.preference } : {}), ...(feedback ? { feedback } : {}),
    };
    await this.store.set(key.raw(id), bytes);
    await this.store.set(key.records(id, 1), parsed.records);
    await this.store.set(key.meta(id), meta);
    return meta;
  }

  async list(): Promise<DatasetMeta[]> {
    const ids = (await this.store.keys()).filter((k) => k.startsWith('dataset:')).map((k) => k.slice('dataset:'.length));
    const metas = await Promise.all(ids.map((id) => this.store.get<DatasetMeta>(key.meta(id))));
    return metas.filter((m): m is DatasetMeta => m !== undefined).sort((a, b) => b.createdAt - a.createdAt);
  }

  async get(id: string): Promise<DatasetMeta> {
    const meta = await this.store.get<DatasetMeta>(key.meta(id));
    if (!meta) throw new Error(`no dataset ${id} (was it deleted?)`);
    return meta;
  }

  async records(id: string, version?: number): Promise<DatasetRecord[]> {
    const meta = await this.get(id);
    const v = version ?? meta.currentVersion;
    const records = await this.store.get<DatasetRecord[]>(key.records(id, v));
    if (!records) throw new Error(`dataset ${meta.name} has no version ${v}`);
    return records;
  }

  /** New options; a change to how the file is read re-imports it (and drops prepared versions). */
  async updateOptions(id: string, options: Partial<DatasetOptions>): Promise<DatasetMeta> {
    const meta = await this.get(id);
    const opts = { ...meta.options, ...options };
    const reparse = PARSE_KEYS.some((k) => JSON.stringify(opts[k]) !== JSON.stringify(meta.options[k]));
    if (!reparse) {
      const next = { ...meta, options: opts };
      await this.store.set(key.meta(id), next);
      return next;
    }
    const raw = await this.store.get<Uint8Array>(key.raw(id));
    if (!raw) throw new Error(`the original file of ${meta.name} is missing`);
    const parse = { columns: opts.columns, alpacaAs: opts.alpacaAs, textMode: opts.textMode };
    const parsed = preferenceImport(meta.name, raw) ?? importDataset(meta.name, raw, parse);
    for (const v of meta.versions) if (v.version !== 1) await this.store.del(key.records(id, v.version));
    await this.store.set(key.records(id, 1), parsed.records);
    const next: DatasetMeta = {
      ...meta, options: opts, format: parsed.format, kinds: parsed.kinds, columns: parsed.columns, records: parsed.records.length,
      problems: parsed.problems.slice(0, 200), problemCount: parsed.problems.length,
      versions: [{ version: 1, createdAt: Date.now(), records: parsed.records.length, origin: { kind: 'import' } }], currentVersion: 1,
      hash: await datasetHash(parsed.records),
    };
    await this.store.set(key.meta(id), next);
    return next;
  }

  /** Stores records made from version `from` as a new current version. */
  async addVersion(id: string, records: readonly DatasetRecord[], from: number, config: unknown, report: unknown): Promise<DatasetMeta> {
    const meta = await this.get(id);
    const version = Math.max(...meta.versions.map((v) => v.version)) + 1;
    await this.store.set(key.records(id, version), records);
    const next: DatasetMeta = {
      ...meta,
      versions: [...meta.versions, { version, createdAt: Date.now(), records: records.length, origin: { kind: 'prepare', from, config }, report }],
      currentVersion: version, records: records.length, hash: await datasetHash(records),
    };
    await this.store.set(key.meta(id), next);
    return next;
  }

  async setVersion(id: string, version: number): Promise<DatasetMeta> {
    const meta = await this.get(id);
    if (!meta.versions.some((v) => v.version === version)) throw new Error(`dataset ${meta.name} has no version ${version}`);
    const records = await this.records(id, version);
    const next = { ...meta, currentVersion: version, records: records.length, hash: await datasetHash(records) };
    await this.store.set(key.meta(id), next);
    return next;
  }

  async delete(id: string): Promise<void> {
    const meta = await this.store.get<DatasetMeta>(key.meta(id));
    for (const v of meta?.versions ?? []) await this.store.del(key.records(id, v.version));
    await this.store.del(key.raw(id));
    await this.store.del(key.meta(id));
  }
}
