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

/** The app's method choice beyond SFT, with TRL's hyperparameter defaults for what is not given. */
export type PreferenceSettings = { readonly method: PreferenceMethod } & Partial<Omit<PreferenceOptions, 'method'>>;

export function preferenceRunOptions(s: PreferenceSettings): PreferenceOptions {
  return preferenceOptions(s.method, s);
}

export async function preferenceRunStrategy(
  session: Session, meta: DatasetMeta, records: readonly DatasetRecord[], config: TrainConfig, options: PreferenceOptions,
): Promise<TrainStrategy> {
  const wanted = options.method === 'kto' ? 'unpaired' : 'paired';
  const what = (k: string) => (k === 'paired' ? 'prompt/chosen/rejected pairs' : 'KTO prompt/completion/label examples');
  if (meta.preference !== wanted) {
    const has = meta.preference ? what(meta.preference) : 'no preference records (it is SFT data)';
    throw new Error(`${options.method.toUpperCase()} trains on ${what(wanted)}; dataset ${meta.name} has ${has}`);
  }
  const data = preferenceData(records);
  const t = tokenizePreferences(data, session.requireTokenizer(), meta.options.maxLength);
  if (t.pairs.length + t.unpaired.length === 0) {
    throw new Error(`dataset ${meta.name} has no usable preference records with this model (${t.problems[0]?.reason ?? 'empty'})`);
  }
  const seq = Math.min(meta.options.maxLength, longestRow(t));
  const rows = preferenceRows(t, options.method, seq, session.padTokenId());
  return preferenceStrategy({
    options, seq, train: rows, heldOut: null, batch: config.batch * rowsPerExample(options.method), hash: await preferenceDatasetHash(data),
  });
}
