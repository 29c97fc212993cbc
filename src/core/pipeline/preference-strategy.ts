/**
 * DPO, ORPO, SimPO and KTO as a TrainJob strategy: rows of chosen/rejected pairs (or labelled
 * completions) and the method's loss, in the same loop and run files as SFT.
 */
import type { StepObjective } from '../train/objective.ts';
import type { PreferenceOptions } from '../train/preference/method.ts';
import type { PreferenceRows } from '../train/preference/rows.ts';
import { preferenceObjectiveFor } from '../train/preference/setup.ts';
import type { TrainStrategy } from './train-job.ts';

export interface PreferenceStrategyInit {
  readonly options: PreferenceOptions;
  readonly seq: number;
  readonly train: PreferenceRows;
  /** Held-out rows, recorded in the run files (the host judges them). */
  readonly heldOut: PreferenceRows | null;
  /** Rows per forward while computing the reference log-probs (the step's rows). */
  readonly batch: number;
  /** The preference data's hash, for the run manifest. */
  readonly hash: string;
}

export function preferenceStrategy(o: PreferenceStrategyInit): TrainStrategy {
  const { options, train, seq } = o;
  return {
    rows: { seq, train: train.rows, validation: o.heldOut?.rows ?? [] },
    objective: async (model): Promise<StepObjective> =>
      (await preferenceObjectiveFor(model, options, train.rows, train.roles, o.batch, seq)).objective,
    describe: { options, hash: o.hash, format: options.method === 'kto' ? 'unpaired-preference' : 'preference' },
  };
}
