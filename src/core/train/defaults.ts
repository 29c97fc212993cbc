import type { ModelConfig } from '../model/config.ts';
import { trainConfig, type TrainConfig } from './config.ts';

/** Settings chosen for a first run, and the one-line reason shown beside them. */
export interface DefaultTrainSettings {
  readonly config: TrainConfig;
  readonly reason: string;
  /**
   * The warmup for the run as it is finally set (its --steps, or its batch, accumulation and
   * epochs over these examples): a tenth of its steps, not of the steps the rule assumed.
   */
  warmupFor(run: RunLength): number;
}

/** What decides a run's optimizer steps: `steps` when given, else epochs over the examples. */
export interface RunLength {
  readonly steps?: number;
  readonly batch: number;
  readonly gradAccum: number;
  readonly epochs: number;
}

/** The rule's warmup: a tenth of the run; none for runs of a few steps (a first step at lr 0 would be wasted). */
export function defaultWarmup(steps: number): number {
  return Math.round(steps / 10);
}

/** Optimizer steps of a run over `examples` (the trainer counts packed rows; unpacked, one example is one row). */
export function runSteps(examples: number, run: RunLength): number {
  return run.steps ?? Math.max(1, Math.round(run.epochs * Math.ceil(examples / (run.batch * run.gradAccum))));
}

/** Weights of a model from its config (embeddings, attention, MLP; norms and biases are negligible). */
export function modelParameters(cfg: ModelConfig): number {
  const H = cfg.hidden;
  const kv = cfg.kvHeads * cfg.headDim;
  const attention = H * cfg.heads * cfg.headDim * 2 + H * kv * 2;
  const mlp = H * cfg.intermediate * (cfg.act === 'silu' || cfg.gatedMlp ? 3 : 2);
  const positions = cfg.rope ? 0 : cfg.maxPositions * H;
  return cfg.vocabSize * H * (cfg.tiedEmbeddings ? 1 : 2) + positions + cfg.layers * (attention + mlp);
}

const LORA_LR_AT_1B = 2e-4;

/**
 * The peers' rule for LoRA (QLoRA, TRL and PEFT examples): about 2e-4 for 1B-parameter models,
 * 1e-4 for much larger ones. Smaller models take larger steps; the rate grows with the fourth
 * root of the size ratio and is capped at 1e-3 (the demo model gets 7e-4, SmolLM2-135M 3e-4).
 * Full fine-tuning uses a tenth of it.
 */
export function defaultLearningRate(parameters: number, method: 'lora' | 'full'): number {
  const lora = Math.min(1e-3, Math.max(1e-4, LORA_LR_AT_1B * (1e9 / Math.max(1, parameters)) ** 0.25));
  const lr = method === 'full' ? lora / 10 : lora;
  return Number(lr.toPrecision(1));
}

/** Passes over the data: small sets need a few to be learnt, large ones one. */
export function defaultEpochs(examples: number): number {
  if (examples <= 200) return 3;
  if (examples <= 2000) return 2;
  return 1;
}

/**
 * Settings for a first run that does not diverge on any supported small dataset: LoRA r=16
 * (alpha 32) on every linear layer, a learning rate chosen from the model size, 10% linear warmup
 * into a cosine decay, gradient clipping at 1, batch 4 and an epoch count chosen from the
 * dataset size. The CLI (flags not given) and the app (its form's starting values) both use it.
 */
export function defaultTrainConfig(
  model: { readonly parameters: number },
  data: { readonly examples: number },
  method: 'lora' | 'full' = 'lora',
): DefaultTrainSettings {
  const batch = 4;
  const epochs = defaultEpochs(data.examples);
  const steps = runSteps(data.examples, { batch, gradAccum: 1, epochs });
  const warmup = defaultWarmup(steps);
  const lr = defaultLearningRate(model.parameters, method);
  const config = trainConfig({
    method, lr, schedule: 'cosine', warmup, batch, gradAccum: 1, epochs, weightDecay: 0, clip: 1,
    lora: { r: 16, alpha: 32, dropout: 0.05, targets: 'all-linear', rslora: false },
  });
  const size = model.parameters >= 1e9 ? `${(model.parameters / 1e9).toFixed(1)}B` : `${(model.parameters / 1e6).toFixed(1)}M`;
  const reason =
    `${method === 'lora' ? 'LoRA' : 'full fine-tuning'} lr ${lr} for a ${size}-parameter model (about 2e-4 at 1B, larger for smaller models), ` +
    `warmup ${warmup} of ${steps} steps, clipping at 1, ${epochs} epoch${epochs > 1 ? 's' : ''} over ${data.examples} examples`;
  return { config, reason, warmupFor: (run) => defaultWarmup(runSteps(data.examples, run)) };
}
