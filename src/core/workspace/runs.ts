import type { TrainConfig } from '../train/config.ts';
import type { RunState, TrainEvent } from '../train/events.ts';
import type { Checkpoint } from '../train/trainer.ts';
import type { DatasetOptions } from './datasets.ts';
import type { PreferenceOptions } from '../train/preference/method.ts';
import type { GrpoRunSettings } from './grpo-runs.ts';
import { newId, type KeyValueStore } from './store.ts';
import type { CptEvaluation, CptRunSettings } from './cpt-runs.ts';
import type { PreferenceEvaluation } from './preference-evaluation.ts';

export interface RunRecord {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly state: RunState | 'imported';
  readonly model: { readonly name: string; readonly source: unknown };
  readonly dataset: { readonly id: string; readonly name: string; readonly version: number; readonly hash: string; readonly options: DatasetOptions } | null;
  readonly config: TrainConfig | null;
  readonly seq: number;
  readonly step: number;
  readonly totalSteps: number;
  readonly lastLoss: number | null;
  readonly bestValLoss: number | null;
  readonly hasCheckpoint: boolean;
  readonly hasAdapter: boolean;
  readonly parentRunId?: string;
  /** DPO/ORPO/SimPO/KTO: the method and its hyperparameters (absent: SFT). */
  readonly preference?: PreferenceOptions;
  /** Continued pre-training on documents: its settings, and the perplexities before and after. */
  readonly cpt?: CptRunSettings;
  readonly cptEval?: CptEvaluation;
  /** A preference run's held-out pairs (or KTO examples): loss and rewards before and after. */
  readonly preferenceEval?: PreferenceEvaluation;
  /** GRPO: its options and reward functions (absent: another method). */
  readonly grpo?: GrpoRunSettings;
  readonly message?: string;
  readonly events: readonly TrainEvent[];
}

const key = {
  run: (id: string) => `run:${id}`,
  checkpoint: (id: string) => `run-checkpoint:${id}`,
  files: (id: string) => `run-files:${id}`,
};

/** Runs with their settings, metrics, last checkpoint and output files (adapter, manifest). */
/** What a new run record is made from (the rest starts empty). */
type NewRun = Omit<RunRecord, 'id' | 'createdAt' | 'updatedAt' | 'events' | 'step' | 'lastLoss' | 'bestValLoss' | 'hasCheckpoint' | 'hasAdapter'>;

export class RunLibrary {
  constructor(private readonly store: KeyValueStore) {}

  async create(r: NewRun): Promise<RunRecord> {
    const now = Date.now();
    const fresh = { events: [], step: 0, lastLoss: null, bestValLoss: null, hasCheckpoint: false, hasAdapter: false };
    const run: RunRecord = { ...r, id: newId('run'), createdAt: now, updatedAt: now, ...fresh };
    await this.store.set(key.run(run.id), run);
    return run;
  }

  async get(id: string): Promise<RunRecord> {
    const run = await this.store.get<RunRecord>(key.run(id));
    if (!run) throw new Error(`no run ${id} (was it deleted?)`);
    return run;
  }

  async list(): Promise<RunRecord[]> {
    const ids = (await this.store.keys()).filter((k) => k.startsWith('run:')).map((k) => k.slice('run:'.length));
    const runs = await Promise.all(ids.map((id) => this.store.get<RunRecord>(key.run(id))));
    return runs.filter((r): r is RunRecord => r !== undefined).sort((a, b) => b.createdAt - a.createdAt);
  }

  async update(id: string, patch: Partial<RunRecord>): Promise<RunRecord> {
    const next = { ...(await this.get(id)), ...patch, updatedAt: Date.now() };
    await this.store.set(key.run(id), next);
    return next;
  }

  async saveCheckpoint(id: string, c: Checkpoint): Promise<void> {
    await this.store.set(key.checkpoint(id), c);
  }

  async checkpoint(id: string): Promise<Checkpoint | undefined> {
    return this.store.get<Checkpoint>(key.checkpoint(id));
  }

  /** Adapter (or model) files and run files of a run. */
  async saveFiles(id: string, files: Record<string, Uint8Array>): Promise<void> {
    await this.store.set(key.files(id), files);
  }

  async files(id: string): Promise<Record<string, Uint8Array>> {
    const f = await this.store.get<Record<string, Uint8Array>>(key.files(id));
    if (!f) throw new Error(`run ${id} has no adapter yet (is it still running, or did it fail before its first checkpoint?)`);
    return f;
  }

  async delete(id: string): Promise<void> {
    for (const k of [key.run(id), key.checkpoint(id), key.files(id)]) await this.store.del(k);
  }
}

/** Summary fields computed from a run's events. */
export function runProgress(events: readonly TrainEvent[]): Pick<RunRecord, 'step' | 'lastLoss' | 'bestValLoss'> {
  let step = 0;
  let lastLoss: number | null = null;
  let best: number | null = null;
  for (const e of events) {
    if (e.type === 'step') {
      step = e.step;
      lastLoss = e.loss;
    } else if (e.type === 'eval' && (best === null || e.valLoss < best)) best = e.valLoss;
  }
  return { step, lastLoss, bestValLoss: best };
}
