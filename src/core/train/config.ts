import type { BaseQuant } from '../model/base-quant.ts';
import type { LoraOptions } from '../model/lora.ts';
import type { Precision } from '../model/precision.ts';
import type { ScheduleKind } from './schedule.ts';
import type { FreezeOptions } from './freeze.ts';
import type { HalfFtOptions } from './half-ft.ts';

/** Every hyperparameter of a run; the run manifest stores this object as it is. */
export interface TrainConfig {
  readonly method: 'lora' | 'full';
  readonly lora: LoraOptions;
  readonly lr: number;
  readonly schedule: ScheduleKind;
  /** Warmup in optimizer steps. */
  readonly warmup: number;
  /** Rows per micro-batch. */
  readonly batch: number;
  readonly gradAccum: number;
  /** Optimizer steps; when absent, `epochs` decides. */
  readonly steps?: number;
  readonly epochs: number;
  readonly weightDecay: number;
  /** Global gradient-norm clip; 0 disables. */
  readonly clip: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly shuffle: boolean;
  readonly seed: number;
  /** Validate every N optimizer steps (0: only at the end). */
  readonly evalEvery: number;
  /** Stop after this many validations without improvement (0: off); the best weights are restored. */
  readonly earlyStoppingPatience: number;
  /** Checkpoint every N optimizer steps (0: only at the end). */
  readonly saveEvery: number;
  readonly gradCheckpointing: boolean;
  /** LoRA+: lora_B (and 1-D adapter parameters) learn at this multiple of lr; 1 is plain LoRA. */
  readonly loraplusLrRatio?: number;
  /** f16: the base's linear weights were held as halves (`--precision`); absent means f32. */
  readonly precision?: Precision;
  /** int8 or int4 (NF4): the base's linear weights were held quantised (`--quant`, QLoRA); absent means not. */
  readonly quant?: BaseQuant;
  /** Full fine-tuning of a part of the model: the rest stays bit-identical to the base. */
  readonly freeze?: FreezeOptions;
  /** Half fine-tuning (full method): a rotating half of the decoder trains each round. */
  readonly halfFt?: HalfFtOptions;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  method: 'lora',
  lora: { r: 16, alpha: 32, dropout: 0.05, targets: 'all-linear', rslora: false },
  lr: 2e-4,
  schedule: 'cosine',
  warmup: 0,
  batch: 4,
  gradAccum: 1,
  epochs: 1,
  weightDecay: 0,
  clip: 1,
  betas: [0.9, 0.999],
  eps: 1e-8,
  shuffle: true,
  seed: 42,
  evalEvery: 0,
  earlyStoppingPatience: 0,
  saveEvery: 0,
  gradCheckpointing: false,
};

/** A partial config, as users give it; `trainConfig` fills in the defaults and checks it. */
export type TrainConfigInput = Partial<Omit<TrainConfig, 'lora'>> & { lora?: Partial<LoraOptions> };

export function trainConfig(overrides: TrainConfigInput = {}): TrainConfig {
  const cfg = { ...DEFAULT_TRAIN_CONFIG, ...overrides, lora: { ...DEFAULT_TRAIN_CONFIG.lora, ...overrides.lora } };
  const positive = (name: string, v: number) => {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  };
  positive('batch', cfg.batch);
  positive('grad_accum', cfg.gradAccum);
  if (cfg.steps !== undefined) positive('steps', cfg.steps);
  if (!(cfg.epochs > 0)) throw new RangeError(`epochs must be positive, got ${cfg.epochs}`);
  if (!(cfg.lr >= 0)) throw new RangeError(`lr must be ≥ 0, got ${cfg.lr}`);
  if (cfg.method === 'lora') positive('lora r', cfg.lora.r);
  if (cfg.loraplusLrRatio !== undefined && !(cfg.loraplusLrRatio > 0 && Number.isFinite(cfg.loraplusLrRatio))) {
    throw new RangeError(`loraplus lr ratio must be a positive number, got ${cfg.loraplusLrRatio}`);
  }
  if (!(cfg.lora.dropout >= 0 && cfg.lora.dropout < 1)) throw new RangeError(`lora dropout must be in [0, 1), got ${cfg.lora.dropout}`);
  checkBaseHolding(cfg);
  return cfg;
}

/** A quantised or f16 base is frozen (LoRA only), and quantised words are not halves: the two exclusive. */
function checkBaseHolding(cfg: TrainConfig): void {
  const quant = cfg.quant ?? 'none';
  if (quant !== 'none' && cfg.precision === 'f16') throw new RangeError(`quant ${quant} and precision f16 both set how the base is held; choose one`);
  if (cfg.method === 'full' && quant !== 'none') throw new RangeError(`an ${quant} base is frozen: it trains with LoRA only`);
  if (cfg.method === 'full' && cfg.precision === 'f16') throw new RangeError('an f16 base trains with LoRA only (full fine-tuning keeps f32 weights)');
}
