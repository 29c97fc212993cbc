/**
 * A training run, wired once for every host (the Worker, `tabtune train`, `tabtune demo`):
 * examples → rows → adapter → trainer → run files. A host picks options, renders the events and
 * stores what comes back; it never builds rows or a trainer itself.
 */
import type { Tokens } from '../data/packing.ts';
import type { PeftAdapterFiles } from '../model/lora.ts';
import type { Transformer } from '../model/transformer.ts';
import type { Session } from '../session.ts';
import type { TrainConfig } from '../train/config.ts';
import type { RunState, TrainEvent } from '../train/events.ts';
import type { StepObjective } from '../train/objective.ts';
import { runFiles, type RunDescription } from '../train/run-files.ts';
import { Trainer, type Checkpoint, type TrainSummary } from '../train/trainer.ts';
import { trainingRows, type TrainingRows } from './training-data.ts';
import { settlePissa, startPissa } from './pissa-run.ts';

/**
 * A training method with its own rows and step loss (the preference methods): the same loop,
 * adapter and run files as SFT, another batch layout and objective.
 */
export interface TrainStrategy {
  /** Rows in the method's layout, all `seq` long. Validation rows are held out for the host to judge. */
  readonly rows: TrainingRows;
  /** The step loss, built once the model carries its adapter (reference log-probs come from the base). */
  objective(model: Transformer): Promise<StepObjective>;
  /** What the run files record about the method and its data. */
  readonly describe: NonNullable<RunDescription['preference']>;
  /** Frees what the objective holds on the GPU (GRPO's generator and reference plan). */
  destroy?(): void;
}

/** SFT: rows built from tokenized examples. */
interface ExampleData {
  /** Tokenized examples of each part of the split (validation may be empty). */
  readonly examples: { readonly train: readonly Tokens[]; readonly validation: readonly Tokens[] };
  readonly strategy?: undefined;
}

/** Another method: its own rows and loss. */
interface StrategyData {
  readonly strategy: TrainStrategy;
  readonly examples?: undefined;
}

export type TrainJobInit = TrainJobOptions & (ExampleData | StrategyData);

interface TrainJobOptions {
  readonly session: Session;
  readonly config: TrainConfig;
  /** `seq`: rows of exactly this many tokens (the demo packs full rows); absent: the longest example, rounded up to 8. */
  readonly rows: { readonly maxLength: number; readonly packing: boolean; readonly seq?: number };
  /** LoRA: start from these adapter files; absent: a fresh adapter (PEFT init, seeded by the config). */
  readonly initAdapter?: PeftAdapterFiles;
  readonly resume?: Checkpoint;
  /** Checkpoint every N steps when the config asks for none (0 or absent: only when it asks). */
  readonly checkpointEvery?: number;
  /** What the run files say about the model and the data (the rest comes from the run itself). */
  readonly describe: {
    readonly model: RunDescription['model'];
    readonly dataset: Omit<RunDescription['dataset'], 'trainRows' | 'validationRows' | 'maxLength' | 'packing'>;
  };
  readonly onEvent?: (e: TrainEvent) => void;
  /** A checkpoint, with the adapter files it belongs to (LoRA runs; empty for full fine-tuning). */
  readonly onCheckpoint?: (c: Checkpoint, adapter: Record<string, Uint8Array>) => Promise<void>;
  /** Aborting stops the run at the end of the current step (as `stop`). */
  readonly signal?: AbortSignal;
}

export interface TrainJobResult {
  readonly summary: TrainSummary;
  /** Adapter (or model) files, run_manifest.json and the TRL config; null when nothing trained. */
  readonly files: Record<string, Uint8Array> | null;
  /** Every step, eval and alert event of the run (a resumed run's earlier ones first). */
  readonly events: readonly TrainEvent[];
}

export class TrainJob {
  private constructor(
    private readonly init: TrainJobInit,
    readonly rows: TrainingRows,
    private readonly trainer: Trainer,
    private readonly events: TrainEvent[],
  ) {}

  /** Builds the rows, sets up the adapter and the trainer. Nothing trains until `run`. */
  static async create(init: TrainJobInit): Promise<TrainJob> {
    const { session, config } = init;
    const model = session.requireModel();
    if (config.method === 'lora') {
      if (init.initAdapter) await session.loadAdapter(init.initAdapter);
      else session.newAdapter(config.lora, config.seed);
      await startPissa(session, config.lora, config.seed, !!init.initAdapter);
    } else {
      if (init.initAdapter) throw new Error('an initial adapter is for LoRA runs (method lora)');
      session.dropAdapter();
    }
    const rows = init.strategy ? init.strategy.rows : trainingRows(init.examples, model.cfg, session.padTokenId(), init.rows);
    const objective = await init.strategy?.objective(model);
    const events: TrainEvent[] = [...(init.resume?.state.history ?? [])];
    const saveEvery = config.saveEvery || (init.checkpointEvery ?? 0);
    // The trainer validates with the SFT loss; a strategy's held-out rows are judged by its host.
    const validation = rows.validation.length && !init.strategy ? rows.validation : undefined;
    const trainer = await Trainer.create({
      model, config: { ...config, saveEvery }, seq: rows.seq, train: rows.train, validation, resume: init.resume, objective,
      onEvent: (e) => {
        if (e.type !== 'state') events.push(e);
        init.onEvent?.(e);
      },
      onCheckpoint: async (c) => {
        if (!init.onCheckpoint) return;
        await init.onCheckpoint(c, config.method === 'lora' ? await session.saveAdapter() : {});
      },
    });
    init.signal?.addEventListener('abort', () => trainer.stop(), { once: true });
    return new TrainJob(init, rows, trainer, events);
  }

  get totalSteps(): number {
    return this.trainer.totalSteps;
  }

  get state(): RunState {
    return this.trainer.runState;
  }

  pause(): void {
    this.trainer.pause();
  }

  resume(): void {
    this.trainer.resume();
  }

  stop(): void {
    this.trainer.stop();
  }

  /** Trains to the end (or a stop), then writes the run files. */
  async run(): Promise<TrainJobResult> {
    if (this.init.signal?.aborted) this.trainer.stop();
    const summary = await this.trainer.run();
    const { session, config, describe, rows: o } = this.init;
    const files = summary.state === 'failed' && summary.steps === 0 ? null : await runFiles(session, {
      model: describe.model,
      dataset: {
        ...describe.dataset,
        trainRows: this.rows.train.length, validationRows: this.rows.validation.length, maxLength: o.maxLength, packing: o.packing,
      },
      config, seq: this.rows.seq, totalSteps: this.trainer.totalSteps, events: this.events, preference: this.init.strategy?.describe,
    });
    await settlePissa(session);
    return { summary, files, events: [...this.events] };
  }

  destroy(): void {
    this.trainer.destroy();
    this.init.strategy?.destroy?.();
  }
}
