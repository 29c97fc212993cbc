/** The training settings form, kept in localStorage so they survive reloads. */
import type { ScheduleKind } from '../../core/train/schedule.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfigInput } from '../../core/train/config.ts';
import type { MemoryRequest, ModelSummary, RunSettings } from '../../worker/api.ts';
import { DERIVED_FIELDS, type DerivedField, type DerivedValues, type FormDefaults } from '../lib/train-defaults.ts';
import type { BaseQuant } from '../../core/model/base-quant.ts';
import type { PrecisionChoice } from '../../core/model/precision.ts';
import { baseProblems, heldBase } from '../lib/base-holding.ts';
import { gpu } from './gpu.svelte.ts';
import { DEFAULT_METHOD_FIELDS, methodConfig, methodProblems, type MethodFields } from '../lib/method-choice.ts';

export interface TrainForm extends MethodFields {
  name: string;
  method: 'lora' | 'full';
  r: number;
  alpha: number;
  dropout: number;
  rslora: boolean;
  /** Canonical module ids; null: every linear layer ("all-linear"). */
  targets: string[] | null;
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  clip: number;
  schedule: ScheduleKind;
  warmup: number;
  batch: number;
  gradAccum: number;
  stopBy: 'epochs' | 'steps';
  epochs: number;
  steps: number;
  evalEvery: number;
  patience: number;
  saveEvery: number;
  gradCheckpointing: boolean;
  shuffle: boolean;
  seed: number;
  /** Start from this run's adapter (imported or trained). */
  initRunId: string | null;
  /** How the base's linear weights are held (lib/base-holding.ts). */
  quant: BaseQuant;
  precision: PrecisionChoice;
}

const core = DEFAULT_TRAIN_CONFIG;

/**
 * The form's defaults are the core's (the CLI uses the same), read from DEFAULT_TRAIN_CONFIG so
 * they cannot drift. Only the app's own choices differ: it validates and checkpoints every 10
 * steps so the live chart has a validation curve and a reload loses little.
 */
export const DEFAULT_FORM: TrainForm = {
  name: '',
  method: core.method,
  r: core.lora.r,
  alpha: core.lora.alpha,
  dropout: core.lora.dropout,
  rslora: core.lora.rslora,
  targets: null,
  lr: core.lr,
  weightDecay: core.weightDecay,
  beta1: core.betas[0],
  beta2: core.betas[1],
  eps: core.eps,
  clip: core.clip,
  schedule: core.schedule,
  warmup: core.warmup,
  batch: core.batch,
  gradAccum: core.gradAccum,
  stopBy: core.steps === undefined ? 'epochs' : 'steps',
  epochs: core.epochs,
  steps: core.steps ?? 50,
  evalEvery: 10,
  patience: core.earlyStoppingPatience,
  saveEvery: 10,
  gradCheckpointing: core.gradCheckpointing,
  shuffle: core.shuffle,
  seed: core.seed,
  initRunId: null,
  quant: 'none',
  precision: 'f32',
  ...DEFAULT_METHOD_FIELDS,
};

const KEY = 'tabtune.trainForm';
/** The size rule's values last put into the form: a field that still holds its value was not set by the user. */
const APPLIED_KEY = 'tabtune.trainDefaults';

function loadApplied(): DerivedValues | null {
  try {
    return JSON.parse(localStorage.getItem(APPLIED_KEY) ?? 'null') as DerivedValues | null;
  } catch {
    return null;
  }
}

function load(): TrainForm {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Partial<TrainForm> | null;
    return { ...DEFAULT_FORM, ...(saved ?? {}), initRunId: null };
  } catch {
    return { ...DEFAULT_FORM };
  }
}

class SettingsStore {
  form = $state<TrainForm>(load());
  /** The rule's values for the loaded model and selected dataset, and why (one line per choice). */
  applied = $state<DerivedValues | null>(loadApplied());
  why = $state.raw<readonly string[]>([]);

  save(): void {
    try {
      localStorage.setItem(KEY, JSON.stringify(this.form));
      localStorage.setItem(APPLIED_KEY, JSON.stringify(this.applied));
    } catch {
      /* storage full or private mode */
    }
  }

  reset(): void {
    this.form = { ...DEFAULT_FORM, ...(this.applied ?? {}) };
    this.save();
  }

  /** Puts the rule's values into the fields the user has not set (those still holding the previous rule's value). */
  applyDefaults(d: FormDefaults): void {
    const form = this.form as Pick<TrainForm, DerivedField>;
    const before: Pick<TrainForm, DerivedField> = this.applied ?? DEFAULT_FORM;
    const next = { ...form };
    for (const k of DERIVED_FIELDS) if (form[k] === before[k]) (next as Record<DerivedField, unknown>)[k] = d.values[k];
    Object.assign(this.form, next);
    this.applied = { ...d.values };
    this.why = d.why;
    this.save();
  }

  /** Fields the user set away from the rule's value. */
  userSet(): DerivedField[] {
    const a = this.applied;
    return a ? DERIVED_FIELDS.filter((k) => this.form[k] !== a[k]) : [];
  }

  /** Targets for the Worker: 'all-linear' when every module of the model is ticked. */
  targets(m: ModelSummary | null): 'all-linear' | string[] {
    const t = this.form.targets;
    if (!t || !m) return 'all-linear';
    const ids = m.linearModules.map((x) => x.id);
    const picked = ids.filter((id) => t.includes(id));
    // Saved for another architecture (none of these modules): every linear layer.
    if (t.length && !picked.length) return 'all-linear';
    return picked.length === ids.length ? 'all-linear' : picked;
  }

  config(m: ModelSummary | null): TrainConfigInput {
    const f = this.form;
    const chosen = methodConfig(f);
    return {
      ...chosen,
      lora: { r: f.r, alpha: f.alpha, dropout: f.dropout, rslora: f.rslora, targets: this.targets(m), ...chosen.lora },
      lr: f.lr,
      schedule: f.schedule,
      warmup: f.warmup,
      batch: f.batch,
      gradAccum: f.gradAccum,
      epochs: f.epochs,
      ...(f.stopBy === 'steps' ? { steps: f.steps } : {}),
      weightDecay: f.weightDecay,
      clip: f.clip,
      betas: [f.beta1, f.beta2],
      eps: f.eps,
      shuffle: f.shuffle,
      seed: f.seed,
      evalEvery: f.evalEvery,
      earlyStoppingPatience: f.patience,
      saveEvery: f.saveEvery,
      gradCheckpointing: f.gradCheckpointing,
      ...heldBase(f, gpu.info),
    };
  }

  runSettings(m: ModelSummary | null, datasetId: string): RunSettings {
    const name = this.form.name.trim();
    return {
      datasetId,
      config: this.config(m),
      ...(name ? { name } : {}),
      ...(this.form.initRunId ? { initRunId: this.form.initRunId } : {}),
    };
  }

  memoryRequest(m: ModelSummary, seq: number): MemoryRequest {
    const f = this.form;
    const { freeze, halfFt } = methodConfig(f);
    return {
      method: f.method, batch: f.batch, seq, r: f.r, targets: this.targets(m), gradCheckpointing: f.gradCheckpointing, ...heldBase(f, gpu.info),
      ...(freeze && { freeze }), ...(halfFt && { halfFt }),
    };
  }

  /** Problems that keep the form from starting a run, in words. */
  problems(): string[] {
    const f = this.form;
    const out: string[] = [];
    const posInt = (v: number, what: string) => {
      if (!Number.isInteger(v) || v <= 0) out.push(`${what} must be a whole number above 0`);
    };
    posInt(f.batch, 'Batch size');
    posInt(f.gradAccum, 'Gradient accumulation');
    if (f.method === 'lora') posInt(f.r, 'LoRA rank');
    if (f.stopBy === 'steps') posInt(f.steps, 'Steps');
    else if (!(f.epochs > 0)) out.push('Epochs must be above 0');
    if (!(f.lr >= 0)) out.push('Learning rate must be 0 or more');
    if (!(f.dropout >= 0 && f.dropout < 1)) out.push('Dropout must be at least 0 and below 1');
    if (f.method === 'lora' && f.targets && f.targets.length === 0) out.push('Pick at least one target module');
    out.push(...baseProblems(f, gpu.info));
    out.push(...methodProblems(f, null));
    return out;
  }
}

export const settings = new SettingsStore();
