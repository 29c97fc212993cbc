/**
 * A DPO, ORPO, SimPO or KTO run on a workspace dataset: the dataset's preference records (any
 * version) tokenized with the loaded model, as the same TrainJob strategy `tabtune train --method`
 * uses (pipeline/preference-strategy.ts).
 */
import { preferenceDatasetHash, tokenizePreferences } from '../data/preference.ts';
import type { DatasetRecord } from '../data/records.ts';
import { preferenceStrategy } from '../pipeline/preference-strategy.ts';
import type { TrainStrategy } from '../pipeline/train-job.ts';
import type { Session } from '../session.ts';
import type { TrainConfig } from '../train/config.ts';
import { preferenceOptions, rowsPerExample, type PreferenceMethod, type PreferenceOptions } from '../train/preference/method.ts';
import { longestRow, preferenceRows } from '../train/preference/rows.ts';
import type { DatasetMeta } from './datasets.ts';
import { preferenceData } from './preference-import.ts';
import { PreferenceHeldOut, splitPreferences } from './preference-evaluation.ts';

/** The app's method choice beyond SFT, with TRL's hyperparameter defaults for what is not given. */
export type PreferenceSettings = { readonly method: PreferenceMethod } & Partial<Omit<PreferenceOptions, 'method'>>;

export function preferenceRunOptions(s: PreferenceSettings): PreferenceOptions {
  return preferenceOptions(s.method, s);
}

/** The run's strategy over the training share, and the held-out share to evaluate (null when none is held out). */
export interface PreferenceRun {
  readonly strategy: TrainStrategy;
  readonly heldOut: PreferenceHeldOut | null;
}

export async function preferenceRunStrategy(
  session: Session, meta: DatasetMeta, records: readonly DatasetRecord[], config: TrainConfig, options: PreferenceOptions,
): Promise<PreferenceRun> {
  const wanted = options.method === 'kto' ? 'unpaired' : 'paired';
  const what = (k: string) => (k === 'paired' ? 'prompt/chosen/rejected pairs' : 'KTO prompt/completion/label examples');
  if (meta.preference !== wanted) {
    const has = meta.preference ? what(meta.preference) : 'no preference records (it is SFT data)';
    throw new Error(`${options.method.toUpperCase()} trains on ${what(wanted)}; dataset ${meta.name} has ${has}`);
  }
  const split = splitPreferences(preferenceData(records), meta.options.validationFraction, meta.options.splitSeed);
  const data = split.train;
  const tok = session.requireTokenizer();
  const t = tokenizePreferences(data, tok, meta.options.maxLength);
  if (t.pairs.length + t.unpaired.length === 0) {
    throw new Error(`dataset ${meta.name} has no usable preference records with this model (${t.problems[0]?.reason ?? 'empty'})`);
  }
  const held = split.heldOut && tokenizePreferences(split.heldOut, tok, meta.options.maxLength);
  const heldCount = held ? held.pairs.length + held.unpaired.length : 0;
  const seq = Math.min(meta.options.maxLength, Math.max(longestRow(t), held && heldCount ? longestRow(held) : 2));
  const rows = preferenceRows(t, options.method, seq, session.padTokenId());
  const heldRows = held && heldCount ? preferenceRows(held, options.method, seq, session.padTokenId()) : null;
  const batch = config.batch * rowsPerExample(options.method);
  const strategy = preferenceStrategy({ options, seq, train: rows, heldOut: heldRows, batch, hash: await preferenceDatasetHash(data) });
  return { strategy, heldOut: heldRows && new PreferenceHeldOut(session, options, heldRows, batch, seq, heldCount) };
}
