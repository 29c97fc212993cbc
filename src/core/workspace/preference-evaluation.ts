/**
 * Held-out evaluation of a DPO, ORPO, SimPO or KTO run in the workspace: the dataset's validation
 * share of pairs (or KTO examples) is kept out of training, its reference log-probs are taken
 * before the first update (as the training rows' are), and the method's loss and TRL-named
 * rewards (rewards/accuracies, rewards/margins, ...) are measured before and after training
 * (train/preference/evaluate.ts, as `tabtune train --method dpo --val-split`).
 */
import type { PreferenceImport } from '../data/preference.ts';
import { splitTrainValidation } from '../data/split.ts';
import type { TrainJob, TrainJobResult } from '../pipeline/train-job.ts';
import type { Session } from '../session.ts';
import { evaluatePreference } from '../train/preference/evaluate.ts';
import type { PreferenceOptions } from '../train/preference/method.ts';
import type { PreferenceRowInfo } from '../train/preference/objective.ts';
import type { PreferenceRows } from '../train/preference/rows.ts';
import { preferenceObjectiveFor } from '../train/preference/setup.ts';

type PreferenceData = Pick<PreferenceImport, 'pairs' | 'unpaired'>;

export interface PreferenceScores {
  readonly loss: number;
  /** As TRL logs them: rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, logps/... */
  readonly metrics: Readonly<Record<string, number>>;
}

/** What the run record keeps: how many were held out, and the scores before and after (null until trained). */
export interface PreferenceEvaluation {
  readonly heldOut: number;
  readonly before: PreferenceScores;
  readonly after: PreferenceScores | null;
}

/**
 * The dataset's pairs (or KTO examples) split by its validation share and seed. Nothing is held out
 * when the share rounds to no example (a handful of feedback pairs all train).
 */
export function splitPreferences(data: PreferenceData, fraction: number, seed: number): { train: PreferenceData; heldOut: PreferenceData | null } {
  const n = data.pairs.length + data.unpaired.length;
  if (Math.round(n * fraction) < 1) return { train: data, heldOut: null };
  const pairs = splitTrainValidation(data.pairs, { fraction, seed });
  const unpaired = splitTrainValidation(data.unpaired, { fraction, seed });
  return { train: { pairs: pairs.train, unpaired: unpaired.train }, heldOut: { pairs: pairs.validation, unpaired: unpaired.validation } };
}

export class PreferenceHeldOut {
  private infos: PreferenceRowInfo[] | null = null;

  constructor(
    private readonly session: Session,
    private readonly options: PreferenceOptions,
    private readonly rows: PreferenceRows,
    /** Rows per forward, and the row length (the training rows' own). */
    private readonly batch: number,
    private readonly seq: number,
    /** Examples held out (pairs count once). */
    readonly count: number,
  ) {}

  private async score(): Promise<PreferenceScores> {
    const model = this.session.requireModel();
    if (!this.infos) {
      const { refs } = await preferenceObjectiveFor(model, this.options, this.rows.rows, this.rows.roles, this.batch, this.seq);
      this.infos = this.rows.roles.map((role, i) => ({ role, ref: refs[i]! }));
    }
    const r = await evaluatePreference(model, this.options, this.rows.rows, this.infos, this.batch, this.seq);
    return { loss: r.loss, metrics: { ...r.metrics } };
  }

  /**
   * Reference log-probs and scores before the first update (unless a continued run has them), trains,
   * scores again. `onBefore` stores the first scores as soon as they exist.
   */
  async run(
    job: TrainJob, before: PreferenceScores | null, onBefore: (e: PreferenceEvaluation) => Promise<unknown>,
  ): Promise<TrainJobResult & { readonly preferenceEval: PreferenceEvaluation }> {
    // The references are the model before training: taken now even when the first scores are known.
    const first = await this.score();
    const start = before ?? first;
    await onBefore({ heldOut: this.count, before: start, after: null });
    const result = await job.run();
    const after = result.files ? await this.score() : null;
    return { ...result, preferenceEval: { heldOut: this.count, before: start, after } };
  }
}
