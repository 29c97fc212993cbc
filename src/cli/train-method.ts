/**
 * `tabtune train --method sft|dpo|orpo|simpo|kto|grpo` and `--tune lora|full`. `--method lora|full`
 * (the flag's old meaning) is still accepted and means `--tune`.
 */
import { TRAIN_METHODS, preferenceOptions, type PreferenceMethod, type PreferenceOptions, type TrainMethod } from '../core/train/preference/method.ts';
import { grpoOptions, type GrpoOptions } from '../core/train/preference/grpo-loss.ts';
import { given, UsageError, type FlagSpec, type Parsed } from './args.ts';

export const METHOD_FLAGS = [
  { name: 'method', kind: 'string', value: 'sft|dpo|orpo|simpo|kto|grpo', help: 'training method (lora|full here still means --tune)', default: 'sft' },
  { name: 'tune', kind: 'string', value: 'lora|full', help: 'what trains: a LoRA adapter or every weight', default: 'lora' },
  {
    name: 'beta', kind: 'number', value: 'B',
    help: 'DPO/KTO: β of the implicit reward; SimPO: reward scale (TRL default 0.1); GRPO: KL coefficient (default 0)',
  },
  { name: 'label-smoothing', kind: 'number', value: 'E', help: 'DPO/SimPO: chance a preference label is flipped, in [0, 0.5)' },
  { name: 'loss-type', kind: 'string', value: 'sigmoid|ipo', help: 'DPO loss: sigmoid (the DPO paper) or ipo' },
  {
    name: 'rpo-alpha', kind: 'number', value: 'A',
    help: 'DPO: add A × the chosen answers\' NLL (token mean) to the loss, TRL\'s rpo_alpha (RPO; default: none)', min: 0,
  },
  { name: 'orpo-lambda', kind: 'number', value: 'L', help: 'ORPO: λ, weight of the odds-ratio term (TRL\'s beta, default 0.1)' },
  { name: 'simpo-gamma', kind: 'number', value: 'G', help: 'SimPO: target reward margin γ (default 0.5)' },
  { name: 'reward', kind: 'string', value: 'FILE', help: 'GRPO: JavaScript reward functions (module.exports = (prompt, completion, fields) => number)' },
  { name: 'reward-timeout', kind: 'int', value: 'MS', help: 'GRPO: time limit of each reward call, in ms (default 5000)', min: 1 },
  { name: 'num-generations', kind: 'int', value: 'G', help: 'GRPO: completions sampled per prompt (default 8)', min: 2 },
  { name: 'max-completion-length', kind: 'int', value: 'N', help: 'GRPO: longest sampled completion, in tokens (default 32)', min: 1 },
  { name: 'temperature', kind: 'number', value: 'T', help: 'GRPO: sampling temperature (default 1)', above: 0 },
  { name: 'epsilon', kind: 'number', value: 'E', help: 'GRPO: clipping range of the probability ratio (default 0.2)', above: 0, below: 1 },
] as const satisfies readonly FlagSpec[];

const GRPO_ONLY = ['reward', 'reward-timeout', 'num-generations', 'max-completion-length', 'temperature', 'epsilon'];

/** GRPO's hyperparameters from the flags (--beta is its KL coefficient). */
export function grpoOptionsFrom(p: Parsed): GrpoOptions {
  const typed = given(p);
  for (const f of ['label-smoothing', 'loss-type', 'rpo-alpha', 'orpo-lambda', 'simpo-gamma']) {
    if (typed.has(f)) throw new UsageError(`--${f} is not a GRPO option`);
  }
  const num = (flag: string) => p[flag] as number | undefined;
  try {
    return grpoOptions({
      beta: num('beta'), generations: num('num-generations'), maxCompletionLength: num('max-completion-length'),
      temperature: num('temperature'), epsilon: num('epsilon'),
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** The method and what trains, from `--method` and `--tune`. */
export function trainMethod(p: Parsed): { method: TrainMethod; tune: 'lora' | 'full' } {
  const m = String(p.method);
  const tune = String(p.tune);
  if (tune !== 'lora' && tune !== 'full') throw new UsageError('--tune must be lora or full');
  if (m === 'lora' || m === 'full') {
    if (given(p).has('tune') && tune !== m) throw new UsageError(`--method ${m} (meaning --tune ${m}) contradicts --tune ${tune}`);
    return { method: 'sft', tune: m };
  }
  if (!(TRAIN_METHODS as readonly string[]).includes(m)) {
    throw new UsageError(`--method must be one of ${TRAIN_METHODS.join(', ')} (or lora|full, meaning --tune); got ${m}`);
  }
  return { method: m as TrainMethod, tune };
}

/** The preference hyperparameters from the flags; flags of another method are usage errors. */
export function preferenceOptionsFrom(p: Parsed, method: PreferenceMethod): PreferenceOptions {
  const typed = given(p);
  const only = (flag: string, methods: readonly PreferenceMethod[]) => {
    if (typed.has(flag) && !methods.includes(method)) throw new UsageError(`--${flag} is for --method ${methods.join('/')}, not ${method}`);
  };
  only('beta', ['dpo', 'simpo', 'kto']);
  only('label-smoothing', ['dpo', 'simpo']);
  only('loss-type', ['dpo']);
  only('rpo-alpha', ['dpo']);
  only('orpo-lambda', ['orpo']);
  only('simpo-gamma', ['simpo']);
  for (const f of GRPO_ONLY) if (typed.has(f)) throw new UsageError(`--${f} is for --method grpo, not ${method}`);
  const num = (flag: string) => p[flag] as number | undefined;
  try {
    return preferenceOptions(method, {
      beta: method === 'orpo' ? num('orpo-lambda') : num('beta'),
      labelSmoothing: num('label-smoothing'),
      lossType: p['loss-type'] as PreferenceOptions['lossType'] | undefined,
      rpoAlpha: num('rpo-alpha'),
      simpoGamma: num('simpo-gamma'),
    });
  } catch (e) {
    const msg = (e as Error).message;
    const names: [string, string][] = [
      ['label smoothing', 'label-smoothing'], ['rpo alpha', 'rpo-alpha'], ['simpo gamma', 'simpo-gamma'], ['loss type', 'loss-type'],
      ['beta', method === 'orpo' ? 'orpo-lambda' : 'beta'],
    ];
    const hit = names.find(([k]) => msg.startsWith(k));
    throw new UsageError(hit ? `--${hit[1]}${msg.slice(hit[0].length)}` : msg);
  }
}
