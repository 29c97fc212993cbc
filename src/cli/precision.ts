import type { Gpu } from '../core/gpu/gpu.ts';
import { PRECISION_CHOICES, resolvePrecision, type Precision, type PrecisionChoice } from '../core/model/precision.ts';
import { UsageError } from './args.ts';

/** `--precision f32|f16|auto`: how the base model's linear weights are held. */
export const PRECISION_FLAG = {
  name: 'precision', kind: 'string', value: 'f32|f16|auto', default: 'f32', choices: PRECISION_CHOICES,
  help: 'base weights in f32, or f16 (half the memory; matmuls accumulate in f32; LoRA, norms, loss, optimizer stay f32); ' +
    'auto: f16 where the GPU offers shader-f16',
} as const;

/** Refuses flags that contradict each other, before any work. */
export function checkPrecisionFlags(choice: string | undefined, quantised: boolean | undefined): void {
  if (quantised && choice === 'f16') throw new UsageError('--int8/--quant and --precision f16 both set how the base is held; choose one');
}

/** The precision a run loads its base in; a quantised base has its own (f16 with --int8/--quant is refused). */
export function basePrecision(gpu: Gpu, choice: string | undefined, quantised: boolean | undefined): Precision {
  checkPrecisionFlags(choice, quantised);
  if (quantised) return 'f32';
  try {
    return resolvePrecision(gpu, (choice ?? 'f32') as PrecisionChoice);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
