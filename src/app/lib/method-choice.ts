/**
 * The fine-tuning methods the Train view offers: a one-line explanation each, and the TrainConfig
 * fields each sets — the same fields `tabtune train` sets from its flags, so both run one TrainJob.
 */
import type { MethodChoice } from '../../core/model/method-memory.ts';
import type { TrainConfigInput } from '../../core/train/config.ts';

export interface MethodInfo {
  readonly id: MethodChoice;
  readonly label: string;
  readonly line: string;
}

export const METHODS: readonly MethodInfo[] = [
  { id: 'lora', label: 'LoRA', line: 'Trains small low-rank matrices A and B beside the chosen layers; the base stays frozen.' },
  { id: 'rslora', label: 'rsLoRA', line: 'LoRA scaled by alpha / √r instead of alpha / r, so higher ranks keep learning.' },
  { id: 'dora', label: 'DoRA', line: 'LoRA on the direction of each weight plus a trained magnitude per output (use_dora in PEFT).' },
  { id: 'loraplus', label: 'LoRA+', line: 'LoRA with B learning faster than A (the ratio below); the adapter is plain LoRA.' },
  { id: 'pissa', label: 'PiSSA', line: 'LoRA started from the principal singular vectors of each weight; exported as plain LoRA.' },
  { id: 'freeze', label: 'Freeze', line: 'Trains every weight of the last N layers fully; everything else stays as it was.' },
  { id: 'half', label: 'Half fine-tuning', line: 'Trains a seeded half of each layer type fully; the halves swap every few steps.' },
  { id: 'full', label: 'Full fine-tuning', line: 'Trains every weight; memory is about four times the weights plus activations.' },
];

/** What the method fields of the form hold. */
export interface MethodFields {
  choice: MethodChoice;
  loraplusRatio: number;
  trainLast: number;
  halfRoundSteps: number;
}

export const DEFAULT_METHOD_FIELDS: MethodFields = { choice: 'lora', loraplusRatio: 16, trainLast: 1, halfRoundSteps: 10 };

export const isLora = (c: MethodChoice): boolean => c !== 'freeze' && c !== 'half' && c !== 'full';

/** The choice, unless the form's method was set elsewhere (an imported adapter sets LoRA): then plain LoRA or full. */
export function effectiveChoice(f: MethodFields & { readonly method: 'lora' | 'full' }): MethodChoice {
  return isLora(f.choice) === (f.method === 'lora') ? f.choice : f.method;
}

/** The TrainConfig fields the method sets beyond the shared LoRA settings (r, alpha, dropout, targets). */
type MethodConfig = Pick<TrainConfigInput, 'method' | 'loraplusLrRatio' | 'freeze' | 'halfFt'> & {
  lora: { rslora?: boolean; dora?: boolean; init?: 'pissa_niter_4' };
};

export function methodConfig(f: MethodFields & { readonly method: 'lora' | 'full' }): MethodConfig {
  switch (effectiveChoice(f)) {
    case 'lora': return { method: 'lora', lora: {} };
    case 'rslora': return { method: 'lora', lora: { rslora: true } };
    case 'dora': return { method: 'lora', lora: { dora: true } };
    case 'loraplus': return { method: 'lora', lora: {}, loraplusLrRatio: f.loraplusRatio };
    // Randomized SVD with 4 subspace iterations (PEFT's pissa_niter_4): quick on large weights.
    case 'pissa': return { method: 'lora', lora: { init: 'pissa_niter_4' } };
    case 'freeze': return { method: 'full', lora: {}, freeze: { trainLast: f.trainLast } };
    case 'half': return { method: 'full', lora: {}, halfFt: { roundSteps: f.halfRoundSteps } };
    case 'full': return { method: 'full', lora: {} };
  }
}

/** Problems with the method's own fields, in words. */
export function methodProblems(f: MethodFields, layers: number | null): string[] {
  const out: string[] = [];
  if (f.choice === 'loraplus' && !(f.loraplusRatio > 0)) out.push('The LoRA+ ratio must be above 0');
  if (f.choice === 'freeze' && (!Number.isInteger(f.trainLast) || f.trainLast < 1 || (layers !== null && f.trainLast > layers))) {
    out.push(`Layers to train must be a whole number from 1 to ${layers ?? 'the model\'s layer count'}`);
  }
  if (f.choice === 'half' && (!Number.isInteger(f.halfRoundSteps) || f.halfRoundSteps < 1)) out.push('Steps per half must be a whole number above 0');
  return out;
}
