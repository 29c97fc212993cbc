import type { FileTree } from '../formats/bytes.ts';
import type { Session } from '../session.ts';
import type { TrainConfig } from '../train/config.ts';

/**
 * Loads the session's model again when a run wants its base held another way (int8, NF4, or f16
 * linear weights) than it is now. The app loads models in f32; a run's config says how its base
 * was held, so a continued run gets the same base again. Any adapter on the model is dropped.
 */
export async function holdBase(s: Session, tree: FileTree | null, config: Pick<TrainConfig, 'quant' | 'precision'>): Promise<void> {
  const w = s.requireModel().weights;
  const quant = config.quant ?? 'none';
  const precision = config.precision ?? 'f32';
  if (w.quant === quant && w.precision === precision) return;
  if (!tree) throw new Error('the model\'s files are gone; load the model again');
  await s.loadModel(tree, undefined, { quant, precision });
}
