/**
 * Preference metrics of held-out rows under the model as it is now: the method's loss and the
 * TRL-named rewards over every pair (or KTO example), forward only.
 */
import type { Transformer } from '../../model/transformer.ts';
import type { Row } from '../../data/rows.ts';
import type { PreferenceLoss } from './losses.ts';
import type { PreferenceOptions } from './method.ts';
import { stepLoss, type PreferenceRowInfo } from './objective.ts';
import { forwardPlan, logpsOf } from './sequence-logps.ts';

export async function evaluatePreference(
  model: Transformer, options: PreferenceOptions, rows: readonly Row[], infos: readonly PreferenceRowInfo[], batch: number, seq: number,
): Promise<Omit<PreferenceLoss, 'grad'>> {
  const { plan, state } = await forwardPlan(model, batch, seq, false);
  try {
    const { loss, metrics } = stepLoss(options, infos, await logpsOf(plan, rows));
    return { loss, metrics };
  } finally {
    plan.destroy();
    state.destroy();
  }
}
