/**
 * Preference methods as TRL names them, and their hyperparameters. The training loop is the same
 * as SFT's; a method only changes how a batch's rows are grouped and how their loss is formed.
 */
import type { GrpoOptions } from './grpo-loss.ts';

export type PreferenceMethod = 'dpo' | 'orpo' | 'simpo' | 'kto';
export type TrainMethod = 'sft' | PreferenceMethod | 'grpo';

export const TRAIN_METHODS: readonly TrainMethod[] = ['sft', 'dpo', 'orpo', 'simpo', 'kto', 'grpo'];

export interface PreferenceOptions {
  readonly method: PreferenceMethod;
  /** DPO/KTO: temperature of the implicit reward; SimPO: reward scale; ORPO: λ of the odds-ratio term. */
  readonly beta: number;
  /** DPO: 'sigmoid' (the paper) or 'ipo' (Azar et al., squared loss on length-averaged log-probs). */
  readonly lossType: 'sigmoid' | 'ipo';
  /**
   * DPO: TRL's rpo_alpha, weight α of the chosen completions' NLL added to the loss (RPO), which
   * keeps the chosen answers likely while the margin grows; null (TRL's None) leaves it out.
   */
  readonly rpoAlpha: number | null;
  /** DPO and SimPO: conservative label smoothing ε (the chance a label is flipped). */
  readonly labelSmoothing: number;
  /** SimPO: target reward margin γ. */
  readonly simpoGamma: number;
  /** KTO: weights of desirable and undesirable examples. */
  readonly desirableWeight: number;
  readonly undesirableWeight: number;
}

/** What a GRPO run records: its hyperparameters, and the file and names of its reward functions. */
export interface GrpoRunOptions extends GrpoOptions {
  readonly method: 'grpo';
  readonly rewardSource: string;
  readonly rewardFunctions: readonly string[];
}

/** The options of a run whose method is not SFT, as the run manifest records them. */
export type MethodOptions = PreferenceOptions | GrpoRunOptions;

/** TRL's defaults (DPOConfig, ORPOConfig, CPOConfig with loss_type "simpo", KTOConfig). */
export function preferenceOptions(method: PreferenceMethod, given: Partial<PreferenceOptions> = {}): PreferenceOptions {
  const o: PreferenceOptions = {
    method, beta: 0.1, lossType: 'sigmoid', rpoAlpha: null, labelSmoothing: 0, simpoGamma: 0.5, desirableWeight: 1, undesirableWeight: 1,
    ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
  };
  if (!(o.beta > 0) || !Number.isFinite(o.beta)) throw new RangeError(`beta must be a positive number, got ${o.beta}`);
  if (!(o.labelSmoothing >= 0 && o.labelSmoothing < 0.5)) throw new RangeError(`label smoothing must be in [0, 0.5), got ${o.labelSmoothing}`);
  if (!Number.isFinite(o.simpoGamma)) throw new RangeError(`simpo gamma must be a number, got ${o.simpoGamma}`);
  if (o.lossType !== 'sigmoid' && o.lossType !== 'ipo') throw new RangeError(`loss type must be sigmoid or ipo, got ${String(o.lossType)}`);
  if (o.rpoAlpha !== null && !(o.rpoAlpha >= 0 && Number.isFinite(o.rpoAlpha))) throw new RangeError(`rpo alpha must be a number ≥ 0, got ${o.rpoAlpha}`);
  if (o.rpoAlpha !== null && method !== 'dpo') throw new RangeError(`rpo alpha is a DPO option, not ${method}`);
  if (o.lossType === 'ipo' && method !== 'dpo') throw new RangeError(`loss type ipo is a DPO variant, not ${method}`);
  return o;
}

/** Rows that must share a micro-batch: a chosen/rejected pair, or one KTO example. */
export function rowsPerExample(method: PreferenceMethod): number {
  return method === 'kto' ? 1 : 2;
}

/** Methods that compare with a reference model (the base with the adapter off). */
export function needsReference(method: PreferenceMethod): boolean {
  return method === 'dpo' || method === 'kto';
}

/** The TRL trainer class a user continues with (SimPO is CPOTrainer with loss_type "simpo"). */
export function trlTrainer(method: TrainMethod): string {
  return { sft: 'SFTTrainer', dpo: 'DPOTrainer', orpo: 'ORPOTrainer', simpo: 'CPOTrainer', kto: 'KTOTrainer', grpo: 'GRPOTrainer' }[method];
}
