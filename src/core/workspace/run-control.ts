/**
 * The Workbench's runs concern: start, continue, pause and stop a training run through the core's
 * job (pipeline/train-job.ts), persist its progress and files, and list the stored runs.
 */
import type { PeftAdapterFiles } from '../model/lora.ts';
import { TrainJob, type TrainJobResult } from '../pipeline/train-job.ts';
import { splitExamples } from '../pipeline/training-data.ts';
import { trainConfig, type TrainConfig } from '../train/config.ts';
import type { RunState, TrainEvent } from '../train/events.ts';
import type { Checkpoint } from '../train/trainer.ts';
import type { ModelSource, RunDetail, RunEvent, RunSettings, RunSummary } from './api.ts';
import type { DatasetLibrary } from './datasets.ts';
import type { ModelHost } from './model-host.ts';
import { plainEqual } from './plain-equal.ts';
import { holdBase } from './base-holding.ts';
import { runProgress, type RunLibrary, type RunRecord } from './runs.ts';
import type { TokenizedDatasets } from './tokenized-datasets.ts';
import { preferenceRunOptions, preferenceRunStrategy } from './preference-runs.ts';
import { CptTraining, cptRunSettings, documentsOf, type CptEvaluation } from './cpt-runs.ts';
import type { PreferenceEvaluation } from './preference-evaluation.ts';
import { grpoRunSettings, grpoRunStrategy, type RewardSandboxLoader } from './grpo-runs.ts';

/** Checkpoints every this many steps when the run's settings ask for none, so a reload loses little. */
const DEFAULT_CHECKPOINT_STEPS = 10;
/** Run records are persisted at most this often while training (and on every eval/checkpoint/state). */
const PERSIST_MS = 2000;

const tuneName = (c: TrainConfig) => (c.method === 'lora' ? `LoRA r${c.lora.r}` : 'full');

interface ActiveRun {
  readonly id: string;
  readonly job: TrainJob;
  readonly done: Promise<void>;
}

export class RunControl {
  private active: ActiveRun | null = null;

  constructor(
    private readonly host: ModelHost,
    private readonly datasets: DatasetLibrary,
    private readonly tokenized: TokenizedDatasets,
    private readonly runs: RunLibrary,
    private readonly loadRewards?: RewardSandboxLoader,
  ) {}

  get activeId(): string | null {
    return this.active?.id ?? null;
  }

  async start(settings: RunSettings, onEvent: (e: RunEvent) => void): Promise<string> {
    if (this.active) throw new Error('a run is already active; stop it first');
    const s = await this.host.requireModel();
    const meta = await this.datasets.get(settings.datasetId);
    const config = trainConfig(settings.config);
    const preference = settings.preference ? preferenceRunOptions(settings.preference) : undefined;
    const grpo = settings.grpo ? grpoRunSettings(settings.grpo) : undefined;
    const initAdapter = config.method === 'lora' && settings.initRunId ? await this.host.runAdapter(settings.initRunId) : undefined;
    const cpt = settings.cpt ? cptRunSettings(settings.cpt, meta, s.requireModel().cfg.maxPositions) : undefined;
    if (cpt) documentsOf(meta, await this.datasets.records(meta.id));
    const method = preference ? `${preference.method.toUpperCase()} ` : cpt ? 'CPT ' : grpo ? 'GRPO ' : '';
    const run = await this.runs.create({
      name: settings.name?.trim() || `${meta.name} · ${method}${tuneName(config)}`, ...(cpt ? { cpt } : {}),
      state: 'running', model: { name: s.info().name, source: this.host.source },
      dataset: { id: meta.id, name: meta.name, version: meta.currentVersion, hash: meta.hash, options: meta.options },
      config, seq: 0, totalSteps: 0, ...(settings.initRunId ? { parentRunId: settings.initRunId } : {}), ...(preference ? { preference } : {}),
      ...(grpo ? { grpo } : {}),
    });
    await this.launch(run, config, { initAdapter }, onEvent);
    return run.id;
  }

  async continue(runId: string, onEvent: (e: RunEvent) => void): Promise<void> {
    if (this.active) throw new Error('a run is already active; stop it first');
    const run = await this.runs.get(runId);
    const checkpoint = await this.runs.checkpoint(runId);
    if (!checkpoint || !run.config || !run.dataset) throw new Error(`run "${run.name}" has no checkpoint to continue from`);
    await this.host.requireModel();
    if (!plainEqual(this.host.source, run.model.source)) throw new Error(`load the run's model first (${run.model.name})`);
    const meta = await this.datasets.get(run.dataset.id);
    if (meta.currentVersion !== run.dataset.version || !plainEqual(meta.options, run.dataset.options)) {
      await this.datasets.updateOptions(meta.id, run.dataset.options);
      await this.datasets.setVersion(meta.id, run.dataset.version);
      this.tokenized.invalidate();
    }
    await this.launch(run, run.config, { resume: checkpoint }, onEvent);
  }

  private async launch(
    run: RunRecord, config: TrainConfig, start: { initAdapter?: PeftAdapterFiles; resume?: Checkpoint }, onEvent: (e: RunEvent) => void,
  ): Promise<void> {
    const s = await this.host.requireModel();
    await holdBase(s, this.host.files, config);
    const meta = await this.datasets.get(run.dataset!.id);
    const records = run.preference || run.grpo ? await this.datasets.records(meta.id) : [];
    const preferenceRun = run.preference ? await preferenceRunStrategy(s, meta, records, config, run.preference) : undefined;
    const strategy = preferenceRun?.strategy
      ?? (run.grpo ? await grpoRunStrategy(s, meta, records, config, run.grpo, this.rewardSandbox()) : undefined);
    const cpt = run.cpt ? CptTraining.create(s, meta, await this.datasets.records(meta.id), run.cpt) : null;
    const data = strategy || cpt ? null : await this.tokenized.data(meta);
    if (data && data.examples.length === 0) {
      throw new Error(`dataset ${meta.name} has no usable examples with this model's tokenizer (${data.problems[0]?.reason ?? 'empty'})`);
    }
    const trainOn = cpt ? { examples: cpt.examples } : data ? { examples: splitExamples(data) } : { strategy: strategy! };
    const o = meta.options;
    let lastPersist = 0;
    let events: readonly TrainEvent[] = start.resume?.state.history ?? [];
    const persist = async (force: boolean) => {
      if (!force && Date.now() - lastPersist < PERSIST_MS) return;
      lastPersist = Date.now();
      await this.runs.update(run.id, { events: [...events], ...runProgress(events) });
    };
    this.host.adapterOf = run.id;
    const job = await TrainJob.create({
      session: s, config, ...trainOn, rows: cpt?.rows ?? o, initAdapter: start.initAdapter, resume: start.resume,
      checkpointEvery: DEFAULT_CHECKPOINT_STEPS,
      describe: {
        model: { name: run.model.name, source: run.model.source },
        dataset: {
          name: meta.name, version: meta.currentVersion, records: await this.datasets.records(meta.id), maskPrompt: o.maskPrompt,
          validationFraction: o.validationFraction, splitSeed: o.splitSeed,
        },
      },
      onEvent: (e) => {
        // The final state is announced after the run's files are saved (below).
        if (e.type === 'state' && e.state !== 'running' && e.state !== 'paused') return;
        if (e.type !== 'state') events = [...events, e];
        onEvent({ ...e, runId: run.id });
        void persist(e.type !== 'step').catch(() => undefined);
      },
      onCheckpoint: async (c, adapter) => {
        try {
          await this.runs.saveCheckpoint(run.id, c);
          if (config.method === 'lora') await this.runs.saveFiles(run.id, adapter);
          await this.runs.update(run.id, { hasCheckpoint: true, hasAdapter: config.method === 'lora' });
        } catch (e) {
          // Storage full: the run goes on; the alert says what to do.
          onEvent({ type: 'alert', level: 'warning', step: c.state.step, message: (e as Error).message, runId: run.id });
        }
      },
    });
    await this.runs.update(run.id, { state: 'running', seq: job.rows.seq, totalSteps: job.totalSteps });
    const held = preferenceRun?.heldOut;
    const trained: Promise<TrainJobResult & { readonly cpt?: CptEvaluation; readonly preferenceEval?: PreferenceEvaluation }> = cpt
      ? cpt.run(job, run.cptEval?.before ?? null, (cptEval) => this.runs.update(run.id, { cptEval }))
      : held
        ? held.run(job, run.preferenceEval?.before ?? null, (preferenceEval) => this.runs.update(run.id, { preferenceEval }))
        : job.run();
    const done = trained.then(
      async ({ summary, files, events: all, cpt: cptEval, preferenceEval }) => {
        try {
          if (files) await this.runs.saveFiles(run.id, files);
          await this.runs.update(run.id, {
            state: summary.state, events: [...all], ...runProgress(all), hasAdapter: files !== null || run.hasAdapter,
            ...(cptEval ? { cptEval } : {}), ...(preferenceEval ? { preferenceEval } : {}),
            ...(summary.message ? { message: summary.message } : {}),
          });
        } finally {
          this.finish(job, run.id, summary, onEvent);
        }
      },
      async (e: unknown) => {
        onEvent({ type: 'alert', level: 'error', step: 0, message: (e as Error).message, runId: run.id });
        await this.runs.update(run.id, { state: 'failed', message: (e as Error).message }).catch(() => undefined);
        this.finish(job, run.id, { state: 'failed', steps: 0 }, onEvent);
      },
    );
    this.active = { id: run.id, job, done };
  }

  private rewardSandbox(): RewardSandboxLoader {
    if (!this.loadRewards) throw new Error('GRPO needs a reward sandbox, which this host does not have');
    return this.loadRewards;
  }

  private finish(job: TrainJob, runId: string, summary: { state: RunState; steps: number }, onEvent: (e: RunEvent) => void): void {
    job.destroy();
    this.active = null;
    onEvent({ type: 'state', state: summary.state, step: summary.steps, runId });
  }

  async pause(): Promise<void> {
    this.active?.job.pause();
    if (this.active) await this.runs.update(this.active.id, { state: 'paused' });
  }

  async resume(): Promise<void> {
    this.active?.job.resume();
    if (this.active) await this.runs.update(this.active.id, { state: 'running' });
  }

  /** Stops the active run at the end of its step and waits until its files are saved. */
  async stop(): Promise<void> {
    const a = this.active;
    if (!a) return;
    a.job.stop();
    await a.done;
  }

  /** Stops at the end of the step without waiting (the GPU is gone). */
  halt(): void {
    this.active?.job.stop();
  }

  view(r: RunRecord): RunSummary {
    const orphaned = (r.state === 'running' || r.state === 'paused') && this.active?.id !== r.id;
    const { events: _events, dataset, ...rest } = r;
    void _events;
    return {
      ...rest,
      state: orphaned ? 'interrupted' : r.state,
      model: { ...(r.model.source as ModelSource), name: r.model.name },
      dataset: dataset ? { id: dataset.id, name: dataset.name, version: dataset.version, hash: dataset.hash } : null,
    };
  }

  async list(): Promise<RunSummary[]> {
    return (await this.runs.list()).map((r) => this.view(r));
  }

  async get(id: string): Promise<RunDetail> {
    const r = await this.runs.get(id);
    return { ...this.view(r), events: r.events };
  }

  async delete(id: string): Promise<void> {
    if (this.active?.id === id) throw new Error('stop the run before deleting it');
    await this.runs.delete(id);
  }
}
