/**
 * The live run: events from the Worker are queued and applied once per animation frame, into
 * plain arrays the charts read (no per-event re-render), plus a few reactive headline numbers.
 */
import type { RunState, TrainEvent } from '../../core/train/events.ts';
import type { ModelSource, RunEvent, RunSummary } from '../../worker/api.ts';
import { api, callback, errorMessage } from '../worker-client.ts';
import { datasets } from './datasets.svelte.ts';
import { model, sameSource } from './model.svelte.ts';
import { notices } from './notices.svelte.ts';
import { runs } from './runs.svelte.ts';
import { settings } from './settings.svelte.ts';
import { RunLog, type LogEntry } from '../lib/run-log.ts';
import { freshRunName } from '../lib/run-name.ts';
import { emptyRewards, pushRewards, type RewardSeries } from '../lib/reward-series.ts';
import { objective } from './objective.svelte.ts';
import { generalSample } from '../lib/general-sample.ts';

export type { LogEntry };

/** Aligned series for uPlot: x = optimizer step. Validation loss is null between evaluations. */
export interface RunSeries extends RewardSeries {
  step: number[];
  loss: (number | null)[];
  valLoss: (number | null)[];
  lr: (number | null)[];
  gradNorm: (number | null)[];
  tokensPerSecond: (number | null)[];
}

export const emptySeries = (): RunSeries => ({ step: [], loss: [], valLoss: [], lr: [], gradNorm: [], tokensPerSecond: [], ...emptyRewards() });

/** Adds one event to series (shared by the live run and the Runs view's history). */
export function addToSeries(s: RunSeries, e: TrainEvent): void {
  if (e.type === 'step') {
    // A run continued from a checkpoint repeats the steps after it: drop them first.
    let n = s.step.length;
    while (n > 0 && s.step[n - 1]! >= e.step) n--;
    if (n < s.step.length) for (const k of Object.keys(s) as (keyof RunSeries)[]) s[k].length = n;
    s.step.push(e.step);
    s.loss.push(e.loss);
    s.valLoss.push(null);
    s.lr.push(e.lr);
    s.gradNorm.push(e.gradNorm);
    s.tokensPerSecond.push(e.tokensPerSecond);
    pushRewards(s, e.metrics);
  } else if (e.type === 'eval') {
    const i = s.step.lastIndexOf(e.step);
    if (i >= 0) s.valLoss[i] = e.valLoss;
    else {
      s.step.push(e.step);
      s.loss.push(null);
      s.valLoss.push(e.valLoss);
      s.lr.push(null);
      s.gradNorm.push(null);
      s.tokensPerSecond.push(null);
      pushRewards(s, null);
    }
  }
}

export function seriesOf(events: readonly TrainEvent[]): RunSeries {
  const s = emptySeries();
  for (const e of events) addToSeries(s, e);
  return s;
}

export type LiveState = RunState | 'idle' | 'starting';

class TrainingStore {
  runId = $state<string | null>(null);
  runName = $state('');
  state = $state<LiveState>('idle');
  step = $state(0);
  totalSteps = $state(0);
  epoch = $state(0);
  loss = $state<number | null>(null);
  lr = $state<number | null>(null);
  gradNorm = $state<number | null>(null);
  tokensPerSecond = $state<number | null>(null);
  gpuMemory = $state<number | null>(null);
  gpuMemoryPeak = $state<number | null>(null);
  elapsedMs = $state(0);
  /** Tokens trained so far, summed from each step's throughput and duration (approximate). */
  tokensSeen = $state(0);
  bestValLoss = $state<number | null>(null);
  lastValLoss = $state<number | null>(null);
  log = $state.raw<LogEntry[]>([]);
  /** Stop was asked for: the run ends after the step on the GPU now. */
  stopping = $state(false);
  /** Where the run came from: a live run, or the last run shown again after a reload. */
  fromHistory = $state(false);
  /** Bumped once per animation frame that applied events; charts redraw on it. */
  tick = $state(0);
  /** Not reactive: the charts read it when `tick` changes. */
  series: RunSeries = emptySeries();

  private runLog = new RunLog();
  private lastElapsed = 0;
  private queue: RunEvent[] = [];
  private frame = 0;

  get active(): boolean {
    return this.state === 'running' || this.state === 'paused' || this.state === 'starting';
  }

  private reset(runId: string | null, name: string): void {
    this.runId = runId;
    this.runName = name;
    this.series = emptySeries();
    this.step = 0;
    this.totalSteps = 0;
    this.epoch = 0;
    this.loss = this.lr = this.gradNorm = this.tokensPerSecond = this.gpuMemory = this.gpuMemoryPeak = null;
    this.bestValLoss = this.lastValLoss = null;
    this.elapsedMs = 0;
    this.tokensSeen = 0;
    this.lastElapsed = 0;
    this.runLog = new RunLog();
    this.log = [];
    this.stopping = false;
    this.fromHistory = false;
    this.tick++;
  }

  private readonly onEvent = (e: RunEvent): void => {
    this.queue.push(e);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  };

  /** Adds a step's tokens: its throughput times the time since the last step (a continued run restarts its clock). */
  private countTokens(e: Extract<TrainEvent, { type: 'step' }>): void {
    const dt = e.elapsedMs >= this.lastElapsed ? e.elapsedMs - this.lastElapsed : e.elapsedMs;
    this.tokensSeen += (e.tokensPerSecond * dt) / 1000;
    this.lastElapsed = e.elapsedMs;
  }

  /** A run's recorded events as the starting point of the charts, numbers and log. */
  private showHistory(events: readonly TrainEvent[], state?: string): void {
    this.series = seriesOf(events);
    this.runLog = RunLog.of(events, state);
    this.log = [...this.runLog.entries];
    for (const e of events) {
      if (e.type === 'eval') {
        this.lastValLoss = e.valLoss;
        if (this.bestValLoss === null || e.valLoss < this.bestValLoss) this.bestValLoss = e.valLoss;
      } else if (e.type === 'step') {
        this.countTokens(e);
        this.step = e.step;
        this.totalSteps = e.totalSteps;
        this.epoch = e.epoch;
        this.loss = e.loss;
        this.lr = e.lr;
        this.gradNorm = e.gradNorm;
        this.tokensPerSecond = e.tokensPerSecond;
        this.elapsedMs = e.elapsedMs;
      }
    }
    this.tick++;
  }

  /** Applies queued events: series, headline numbers and the log, once per frame. */
  private flush(): void {
    this.frame = 0;
    const events = this.queue;
    this.queue = [];
    let ended: RunEvent | null = null;
    let last: Extract<TrainEvent, { type: 'step' }> | null = null;
    const now = Date.now();
    for (const e of events) {
      if (e.runId && !this.runId) this.runId = e.runId;
      addToSeries(this.series, e);
      this.runLog.add(e, now);
      if (e.type === 'step') {
        last = e;
        this.countTokens(e);
      } else if (e.type === 'eval') {
        this.lastValLoss = e.valLoss;
        if (this.bestValLoss === null || e.valLoss < this.bestValLoss) this.bestValLoss = e.valLoss;
      } else if (e.type === 'state') {
        this.state = e.state;
        if (e.state !== 'paused' && e.state !== 'running') ended = e;
      }
    }
    if (last) {
      this.step = last.step;
      this.totalSteps = last.totalSteps;
      this.epoch = last.epoch;
      this.loss = last.loss;
      this.lr = last.lr;
      this.gradNorm = last.gradNorm;
      this.tokensPerSecond = last.tokensPerSecond;
      this.gpuMemory = last.gpuMemory;
      this.gpuMemoryPeak = last.gpuMemoryPeak;
      this.elapsedMs = last.elapsedMs;
    }
    if (ended && ended.type === 'state') {
      this.stopping = false;
      const tone = ended.state === 'failed' ? 'error' : ended.state === 'stopped' ? 'info' : 'success';
      const how = ended.state === 'stopped' ? `stopped at the end of step ${ended.step}` : `${ended.state} after ${ended.step} steps`;
      notices.push(tone, `${this.runName}: ${how}`);
      void runs.refresh();
    }
    this.log = [...this.runLog.entries];
    this.tick++;
  }

  async start(): Promise<void> {
    const ds = datasets.selected;
    if (!ds || this.active) return;
    const stem = objective.method === 'sft' ? ds.name : `${ds.name} · ${objective.method.toUpperCase()}`;
    const name = settings.form.name.trim() || freshRunName(stem, settings.form, runs.list);
    this.reset(null, name);
    this.state = 'starting';
    // The next run gets a fresh name again (a typed name is for this run only).
    settings.form.name = '';
    settings.save();
    try {
      const cpt = objective.method === 'cpt' ? { cpt: { general: await generalSample() } } : {};
      const id = await api.startRun({ ...settings.runSettings(model.summary, ds.id), ...objective.runSettings(), ...cpt, name }, callback(this.onEvent));
      this.runId = id;
      if (this.state === 'starting') this.state = 'running';
      await runs.refresh();
      this.runName = runs.byId(id)?.name ?? this.runName;
    } catch (e) {
      this.state = 'idle';
      notices.push('error', `Could not start training: ${errorMessage(e)}`);
    }
  }

  async pause(): Promise<void> {
    await notices.attempt('Pause', () => api.pauseRun());
    if (this.state === 'running') this.state = 'paused';
  }

  async resume(): Promise<void> {
    await notices.attempt('Resume', () => api.resumeRun());
    if (this.state === 'paused') this.state = 'running';
  }

  async stop(): Promise<void> {
    if (!this.active || this.stopping) return;
    this.stopping = true;
    await notices.attempt('Stop', () => api.stopRun());
  }

  /** After a reload: the latest run's charts and log, as stored with it (nothing is training). */
  async showLatest(): Promise<void> {
    const latest = runs.list.find((r) => r.state !== 'imported');
    if (!latest || this.active || this.runId) return;
    const detail = await runs.detail(latest.id);
    if (!detail || this.active || this.runId) return;
    this.reset(latest.id, latest.name);
    this.fromHistory = true;
    this.showHistory(detail.events, detail.state);
  }

  /** Continues a run from its last checkpoint, loading its model first when another one is loaded. */
  async continueRun(run: RunSummary): Promise<void> {
    if (this.active) return;
    const { name: _name, ...source } = run.model;
    void _name;
    if (!sameSource(model.summary?.source, source as ModelSource)) {
      if (source.kind === 'local') {
        notices.push('error', `Load the model folder "${run.model.name}" in the Model view first, then continue.`);
        return;
      }
      const loaded = await model.load(source as ModelSource, null, `Loading ${run.model.name} to continue`);
      if (!loaded) {
        notices.push('error', `Could not load the run's model: ${model.error ?? 'unknown error'}`);
        return;
      }
    }
    this.reset(run.id, run.name);
    this.state = 'starting';
    const detail = await runs.detail(run.id);
    this.showHistory(detail?.events ?? []);
    this.runLog.note('info', this.step, `continued from the checkpoint at step ${this.step}`, Date.now());
    this.log = [...this.runLog.entries];
    try {
      await api.continueRun(run.id, callback(this.onEvent));
      if (this.state === 'starting') this.state = 'running';
      if (run.dataset) {
        datasets.select(run.dataset.id);
        void datasets.refresh();
      }
      void runs.refresh();
    } catch (e) {
      this.state = 'idle';
      notices.push('error', `Could not continue "${run.name}": ${errorMessage(e)}`);
    }
  }

  /** After a reload: a run the Worker still trains (only when the Worker outlived the page). */
  async sync(): Promise<void> {
    try {
      const id = await api.activeRunId();
      if (id && !this.runId) this.runId = id;
    } catch {
      /* ignore */
    }
  }
}

export const training = new TrainingStore();
