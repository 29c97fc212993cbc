/**
 * Chooses a run's step objective from its method: SFT keeps the trainer's cross-entropy step;
 * preference methods get their rows' reference log-probs (once, before training) and their loss.
 */
import type { Transformer } from '../../model/transformer.ts';
import type { StepObjective } from '../objective.ts';
import type { Row } from '../../data/rows.ts';
import { needsReference, type PreferenceOptions } from './method.ts';
import { preferenceObjective, type PreferenceRowInfo } from './objective.ts';
import { referenceLogps } from './sequence-logps.ts';

/**
 * The objective of a preference run. DPO and KTO compare with the reference: the base model with
 * the adapter off for LoRA, the model before any update for full fine-tuning, so this must run
 * before training starts. `batch` is the rows per forward while computing them.
 */
export async function preferenceObjectiveFor(
  model: Transformer, options: PreferenceOptions, rows: readonly Row[], roles: readonly PreferenceRowInfo['role'][], batch: number, seq: number,
): Promise<{ objective: StepObjective; refs: number[] }> {
  const refs = needsReference(options.method) ? await referenceLogps(model, rows, batch, seq) : rows.map(() => 0);
  const infos = roles.map((role, i) => ({ role, ref: refs[i]! }));
  return { objective: preferenceObjective(options, infos), refs };
}
