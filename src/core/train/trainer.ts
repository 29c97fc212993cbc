import type { Gpu } from '../gpu/gpu.ts';
import { StepState } from '../kernels/step-state.ts';
import { Rng } from '../rng.ts';
import { StepPlan, type Batch } from '../model/step-plan.ts';
import type { Transformer } from '../model/transformer.ts';
import type { ParamStore } from '../model/param-store.ts';
import { AdamW } from './adamw.ts';
import { trainedWeights, optimizerGroups } from './param-groups.ts';
import { halfFtScale, HalfFtRounds, replanRound } from './half-ft.ts';
import type { TrainConfig } from './config.ts';
import type { StepObjective } from './objective.ts';
import type { RunState, TrainEvent } from './events.ts';
import type { Row } from '../data/rows.ts';
import { lrFactor } from './schedule.ts';
import { runStep, type StepResult } from './step.ts';

/** Everything needed to continue a run exactly where it stopped. */
export interface Checkpoint {
  readonly state: {
    readonly step: number;
    readonly optimizerSteps: number;
    readonly seed: number;
    readonly bestValLoss: number | null;
    readonly bestStep: number | null;
    readonly evalsWithoutImprovement: number;
    readonly history: readonly TrainEvent[];
    readonly dataOrder: { readonly rows: number; readonly shuffle: boolean; readonly stepsPerEpoch: number };
  };
  /** Trainable parameters, Adam moments and the best parameters so far, per store buffer. */
  readonly tensors: Readonly<Record<string, Float32Array>>;
}

export interface TrainerInit {
  readonly model: Transformer;
  readonly config: TrainConfig;
  readonly seq: number;
  readonly train: readonly Row[];
  readonly validation?: readonly Row[];
  readonly onEvent?: (e: TrainEvent) => void;
  readonly onCheckpoint?: (c: Checkpoint) => Promise<void>;
  readonly resume?: Checkpoint;
  /** The step's loss (default: SFT cross-entropy); preference methods bring their own. */
  readonly objective?: StepObjective;
  /** Learning rate of optimizer step k, instead of the config's schedule (the range test's sweep). */
  readonly lrForStep?: (k: number) => number;
}

export interface TrainSummary {
  readonly state: RunState;
  readonly steps: number;
  readonly finalLoss: number | null;
  readonly bestValLoss: number | null;
  readonly bestStep: number | null;
  readonly history: readonly TrainEvent[];
  readonly message?: string;
}

/** Loss above this multiple of the best smoothed loss (after warmup) means the run diverged. */
const DIVERGENCE_FACTOR = 4;

/**
 * The training loop: seeded data order, micro-batches with gradient accumulation, AdamW with a
 * schedule and clipping, periodic validation with early stopping, checkpoints that resume
 * exactly, NaN/divergence guards, and metrics events. One step's loss is read back while the next
 * step runs, so the CPU never waits on the GPU inside the loop.
 */
export class Trainer {
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  private state: RunState = 'running';
  private resumeWaiters: (() => void)[] = [];
  private step = 0;
  private best: { loss: number; step: number; params: Float32Array[] } | null = null;
  private evalsWithoutImprovement = 0;
  private readonly history: TrainEvent[] = [];
  private smoothed: number | null = null;
  private stopMessage: string | undefined;
  private readonly rounds: HalfFtRounds | null;

  private constructor(
    readonly init: TrainerInit,
    private readonly gpu: Gpu,
    private readonly trainable: ParamStore,
    private plan: StepPlan,
    private readonly evalPlan: StepPlan | null,
    private readonly opt: AdamW,
    private readonly stepState: StepState,
    private readonly evalState: StepState,
  ) {
    const { config } = init;
    const perStep = config.batch * config.gradAccum;
    this.stepsPerEpoch = Math.max(1, Math.ceil(init.train.length / this.rowsPerExample / perStep));
    this.totalSteps = config.steps ?? Math.max(1, Math.round(config.epochs * this.stepsPerEpoch));
    this.rounds = config.method === 'full' && config.halfFt ? new HalfFtRounds(init.model.cfg, config.seed, config.halfFt) : null;
  }

  /** Builds plans and the optimizer; the model must already carry its adapter for LoRA runs. */
  static async create(init: TrainerInit): Promise<Trainer> {
    const { model, config } = init;
    if (init.train.length === 0) throw new Error('the training set is empty');
    for (const r of [...init.train, ...(init.validation ?? [])]) {
      if (r.inputIds.length !== init.seq || r.labels.length !== init.seq) throw new Error(`every row must hold ${init.seq} tokens`);
    }
    model.setTrainable(config.method === 'full' ? 'full' : 'lora', trainedWeights(config, model.cfg));
    const gpu = model.gpu;
    const trainable = config.method === 'full' ? model.weights.store : model.lora!.store;
    const stepState = new StepState(gpu);
    const evalState = new StepState(gpu);
    const k = init.objective?.rowsPerExample ?? 1;
    if (init.train.length % k !== 0) throw new Error(`the training rows come in groups of ${k}; got ${init.train.length} rows`);
    const planOpts = { batch: config.batch * k, seq: init.seq, train: true, checkpointing: config.gradCheckpointing, tokenWeights: !!init.objective };
    if (config.method === 'full' && config.halfFt) {
      // Half fine-tuning: the first round's half gets weight gradients; later rounds re-plan (half-ft.ts).
      const first = halfFtScale(model.cfg, config.seed, 0);
      model.limitWeightGrads((name) => first(name) > 0);
    }
    const plan = await StepPlan.build(model, planOpts, stepState);
    const evalPlan = init.validation?.length ? await StepPlan.build(model, { batch: config.batch, seq: init.seq, train: false }, evalState) : null;
    const opt = await AdamW.create(
      gpu, trainable, model.grads!,
      { beta1: config.betas[0], beta2: config.betas[1], eps: config.eps, weightDecay: config.weightDecay, maxNorm: config.clip },
      stepState,
      config.method === 'lora',
      optimizerGroups(config, model.cfg),
      config.method === 'full' && config.halfFt !== undefined,
    );
    const trainer = new Trainer(init, gpu, trainable, plan, evalPlan, opt, stepState, evalState);
    if (init.resume) await trainer.restore(init.resume);
    return trainer;
  }

  private get rowsPerExample(): number {
    return this.init.objective?.rowsPerExample ?? 1;
  }

  get runState(): RunState {
    return this.state;
  }

  get completedSteps(): number {
    return this.step;
  }

  pause(): void {
    if (this.state === 'running') this.setState('paused');
  }

  resume(): void {
    if (this.state !== 'paused') return;
    this.setState('running');
    for (const w of this.resumeWaiters.splice(0)) w();
  }

  /** Ends the run after the current step; a checkpoint is written. */
  stop(): void {
    if (this.state === 'running' || this.state === 'paused') {
      const wasPaused = this.state === 'paused';
      this.setState('stopped');
      if (wasPaused) for (const w of this.resumeWaiters.splice(0)) w();
    }
  }

  private setState(s: RunState): void {
    this.state = s;
    this.emit({ type: 'state', state: s, step: this.step });
  }

  private emit(e: TrainEvent): void {
    if (e.type !== 'state') this.history.push(e);
    this.init.onEvent?.(e);
  }

  /** The rows of optimizer step k: the epoch's seeded permutation, batch·accum rows per step. */
  rowsForStep(k: number): number[] {
    const { config, train } = this.init;
    const epoch = Math.floor(k / this.stepsPerEpoch);
    const within = k % this.stepsPerEpoch;
    const group = this.rowsPerExample;
    const order = Array.from({ length: train.length / group }, (_, i) => i);
    if (config.shuffle) new Rng(config.seed * 1000003 + epoch * 7919 + 1).shuffle(order);
    const per = config.batch * config.gradAccum;
    return order.slice(within * per, (within + 1) * per).flatMap((e) => Array.from({ length: group }, (_, j) => e * group + j));
  }

  private microBatches(rows: readonly Row[], indices: number[], batch = this.init.config.batch): { batches: Batch[]; tokens: number } {
    const S = this.init.seq;
    const batches: Batch[] = [];
    let tokens = 0;
    for (let i = 0; i < indices.length; i += batch) {
      const ids = new Int32Array(batch * S);
      const labels = new Int32Array(batch * S).fill(-100);
      const segments = new Uint32Array(batch * S);
      const lengths = new Uint32Array(batch);
      for (let b = 0; b < batch; b++) {
        const row = rows[indices[i + b]!];
        if (!row) continue; // a short last micro-batch: empty rows carry no loss
        ids.set(row.inputIds, b * S);
        labels.set(row.labels, b * S);
        if (row.segments) segments.set(row.segments, b * S);
        lengths[b] = row.tokens ?? S;
        tokens += lengths[b]!;
      }
      batches.push({ ids, labels, segments, lengths });
    }
    return { batches, tokens };
  }

  private lrAt(k: number): number {
    const { config } = this.init;
    if (this.init.lrForStep) return this.init.lrForStep(k);
    return config.lr * lrFactor(config.schedule, k, this.totalSteps, config.warmup);
  }

  async run(): Promise<TrainSummary> {
    const { config } = this.init;
    const start = performance.now();
    let pending: { promise: Promise<StepResult>; step: number; lr: number; tokens: number; t0: number } | null = null;
    let lastLoss: number | null = null;
    const settle = async () => {
      if (!pending) return;
      const p = pending;
      pending = null;
      const r = await p.promise;
      const now = performance.now();
      lastLoss = r.loss;
      this.emit({
        type: 'step', step: p.step + 1, totalSteps: this.totalSteps, epoch: p.step / this.stepsPerEpoch,
        loss: r.loss, lr: p.lr, gradNorm: r.gradNorm, tokensPerSecond: p.tokens / Math.max(1e-9, (now - p.t0) / 1000),
        gpuMemory: this.gpu.ledger.total, gpuMemoryPeak: this.gpu.ledger.peak, elapsedMs: now - start, ...(r.metrics && { metrics: r.metrics }),
      });
      this.guard(p.step + 1, r);
    };
    if (this.state !== 'running') this.setState('running');
    try {
      while (this.step < this.totalSteps && this.active()) {
        if (this.state === 'paused') {
          await settle();
          await new Promise<void>((resolve) => this.resumeWaiters.push(resolve));
          continue;
        }
        const k = this.step;
        if (await this.rounds?.before(k, this.opt, this.stepState)) this.plan = await replanRound(this.plan, this.init.model, this.rounds!.trains());
        const rows = this.rowsForStep(k);
        const { batches, tokens } = this.microBatches(this.init.train, rows, this.plan.opts.batch);
        const lr = this.lrAt(k);
        const t0 = performance.now();
        const seed = (config.seed * 2654435761 + k) >>> 0;
        const objective = this.init.objective;
        const { done } = objective
          ? objective.run(this.gpu, this.plan, this.opt, this.stepState, batches, rows, lr, seed)
          : runStep(this.gpu, this.plan, this.opt, this.stepState, batches, lr, seed);
        await settle();
        pending = { promise: done, step: k, lr, tokens, t0 };
        this.step = k + 1;
        // A method whose held-out rows its host judges (preference, GRPO) has no validation here.
        const evalNow = this.evalPlan !== null && config.evalEvery > 0 && this.step % config.evalEvery === 0 && this.step < this.totalSteps;
        const saveNow = config.saveEvery > 0 && this.step % config.saveEvery === 0 && this.step < this.totalSteps;
        if (evalNow || saveNow) await settle();
        if (evalNow && this.active()) await this.validate();
        if (saveNow && this.active()) await this.checkpoint();
      }
      await settle();
      if (this.state === 'running') {
        if (this.evalPlan && (config.evalEvery === 0 || this.step % config.evalEvery !== 0 || this.step === this.totalSteps)) await this.validate();
        if (this.state === 'running') this.state = 'finished';
      }
      if (this.best && config.earlyStoppingPatience > 0) await this.restoreBest();
      if (this.state !== 'failed') await this.checkpoint();
      this.emit({ type: 'state', state: this.state, step: this.step } as TrainEvent);
    } catch (e) {
      this.state = 'failed';
      this.stopMessage = (e as Error).message;
      this.emit({ type: 'alert', level: 'error', step: this.step, message: this.stopMessage });
      this.init.onEvent?.({ type: 'state', state: 'failed', step: this.step });
    }
    return {
      state: this.state, steps: this.step, finalLoss: lastLoss,
      bestValLoss: this.best?.loss ?? null, bestStep: this.best?.step ?? null, history: this.history, message: this.stopMessage,
    };
  }

  private active(): boolean {
    return this.state === 'running' || this.state === 'paused';
  }

  /** NaN/inf and divergence stop the run with an alert. */
  private guard(step: number, r: StepResult): void {
    if (!Number.isFinite(r.loss) || !Number.isFinite(r.gradNorm)) {
      const [what, value] = Number.isFinite(r.loss) ? ['gradient norm', r.gradNorm] : ['loss', r.loss];
      this.fail(
        step,
        `step ${step}: the ${what} is ${value}; the run stopped (the update was skipped).`
          + ' Lower the learning rate, or check the data for empty targets.',
      );
      return;
    }
    const warm = step > Math.max(this.init.config.warmup, 5);
    // Preference losses approach 0 as pairs separate, so a ratio to the best loss means nothing there.
    if (warm && !this.init.objective && this.smoothed !== null && r.loss > DIVERGENCE_FACTOR * this.smoothed) {
      this.fail(
        step,
        `step ${step}: loss ${r.loss.toFixed(3)} is over ${DIVERGENCE_FACTOR}× the recent ${this.smoothed.toFixed(3)};`
          + ' the run is diverging and stopped. Lower the learning rate or raise warmup.',
      );
      return;
    }
    this.smoothed = this.smoothed === null ? r.loss : Math.min(this.smoothed, 0.9 * this.smoothed + 0.1 * r.loss);
  }

  private fail(step: number, message: string): void {
    this.stopMessage = message;
    this.emit({ type: 'alert', level: 'error', step, message });
    this.state = 'failed';
  }

  /** Mean validation loss over every target token of the validation rows. */
  async evaluate(rows: readonly Row[]): Promise<number> {
    if (!this.evalPlan) throw new Error('no validation rows');
    const { batch } = this.init.config;
    let sum = 0;
    let count = 0;
    for (let i = 0; i < rows.length; i += batch) {
      const idx = Array.from({ length: Math.min(batch, rows.length - i) }, (_, j) => i + j);
      const { batches } = this.microBatches(rows, idx);
      const r = await runStep(this.gpu, this.evalPlan, null, this.evalState, batches, 0, 0).done;
      if (r.targets > 0) {
        sum += r.loss * r.targets;
        count += r.targets;
      }
    }
    return count > 0 ? sum / count : NaN;
  }

  private async validate(): Promise<void> {
    const loss = await this.evaluate(this.init.validation!);
    const improved = this.best === null || loss < this.best.loss;
    if (improved) {
      // The weights are copied only when early stopping may need to restore them.
      const params = this.init.config.earlyStoppingPatience > 0 ? await this.readStore(this.trainable) : [];
      this.best = { loss, step: this.step, params };
      this.evalsWithoutImprovement = 0;
    } else {
      this.evalsWithoutImprovement++;
    }
    this.emit({ type: 'eval', step: this.step, valLoss: loss, valPerplexity: Math.exp(loss), best: improved });
    const patience = this.init.config.earlyStoppingPatience;
    if (patience > 0 && this.evalsWithoutImprovement >= patience) {
      this.stopMessage = `validation loss did not improve for ${patience} evaluations; stopped at step ${this.step} and restored step ${this.best!.step}`;
      this.emit({ type: 'alert', level: 'warning', step: this.step, message: this.stopMessage });
      this.state = 'early-stopped';
    }
  }

  private async restoreBest(): Promise<void> {
    if (!this.best?.params.length) return;
    this.writeStore(this.trainable, this.best.params);
    await this.gpu.sync();
  }

  private async readStore(store: ParamStore): Promise<Float32Array[]> {
    return Promise.all(store.lengths.map((n, i) => this.gpu.readF32(store.buffers[i]!, 0, n)));
  }

  private writeStore(store: ParamStore, data: readonly Float32Array[]): void {
    store.lengths.forEach((n, i) => {
      const d = data[i];
      if (!d || d.length !== n) throw new Error(`checkpoint does not fit this model/adapter (buffer ${i}: ${d?.length} values, expected ${n})`);
      this.gpu.write(store.buffers[i]!, d);
    });
  }

  async snapshot(): Promise<Checkpoint> {
    const tensors: Record<string, Float32Array> = {};
    const add = async (prefix: string, store: ParamStore) => (await this.readStore(store)).forEach((d, i) => (tensors[`${prefix}.${i}`] = d));
    await add('params', this.trainable);
    await add('adam_m', this.opt.m);
    await add('adam_v', this.opt.v);
    this.best?.params.forEach((d, i) => (tensors[`best.${i}`] = d));
    const { config, train } = this.init;
    return {
      state: {
        step: this.step, optimizerSteps: this.opt.t, seed: config.seed,
        bestValLoss: this.best?.loss ?? null, bestStep: this.best?.step ?? null, evalsWithoutImprovement: this.evalsWithoutImprovement,
        history: [...this.history], dataOrder: { rows: train.length, shuffle: config.shuffle, stepsPerEpoch: this.stepsPerEpoch },
      },
      tensors,
    };
  }

  private async checkpoint(): Promise<void> {
    if (!this.init.onCheckpoint) return;
    await this.init.onCheckpoint(await this.snapshot());
    this.emit({ type: 'checkpoint', step: this.step });
  }

  private async restore(c: Checkpoint): Promise<void> {
    const s = c.state;
    if (s.dataOrder.rows !== this.init.train.length || s.seed !== this.init.config.seed) {
      throw new Error(
        `the checkpoint was made with ${s.dataOrder.rows} training rows and seed ${s.seed};`
          + ` this run has ${this.init.train.length} rows and seed ${this.init.config.seed}`,
      );
    }
    const pick = (prefix: string) =>
      Object.keys(c.tensors)
        .filter((k) => k.startsWith(`${prefix}.`))
        .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]))
        .map((k) => c.tensors[k]!);
    this.writeStore(this.trainable, pick('params'));
    this.writeStore(this.opt.m, pick('adam_m'));
    this.writeStore(this.opt.v, pick('adam_v'));
    const best = pick('best');
    this.best = s.bestValLoss !== null && best.length ? { loss: s.bestValLoss, step: s.bestStep ?? 0, params: best } : null;
    this.step = s.step;
    this.opt.t = s.optimizerSteps;
    this.evalsWithoutImprovement = s.evalsWithoutImprovement;
    this.history.push(...s.history);
    await this.gpu.sync();
  }

  destroy(): void {
    this.plan.destroy();
    this.evalPlan?.destroy();
    this.opt.destroy();
    this.stepState.destroy();
    this.evalState.destroy();
  }
}
