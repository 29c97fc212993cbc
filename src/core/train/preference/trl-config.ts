/**
 * The TRL export of a preference or GRPO run: the SFT export's shared settings (model, optimizer,
 * schedule, PEFT) under the matching trainer (DPOTrainer, ORPOTrainer, CPOTrainer with
 * loss_type "simpo", KTOTrainer, GRPOTrainer) with the method's hyperparameters.
 */
import type { ModelConfig } from '../../model/config.ts';
import { trlConfig, type RunManifest } from '../manifest.ts';
import { trlTrainer, type GrpoRunOptions, type MethodOptions } from './method.ts';

/** SFTConfig fields that the preference configs do not have (GRPOConfig has no max_length either). */
const SFT_ONLY = ['packing', 'completion_only_loss', 'assistant_only_loss'];
const NOT_GRPO = [...SFT_ONLY, 'max_length'];

/** The method's fields, as TRL names them. The reference log-probs are computed once, before training. */
export function preferenceTrlFields(o: MethodOptions, seq = 0): [string, unknown][] {
  switch (o.method) {
    case 'grpo':
      // One update per generation batch (num_iterations 1), per-completion token means (loss_type "grpo"), group-scaled rewards.
      return [
        ['num_generations', o.generations], ['max_prompt_length', seq - o.maxCompletionLength], ['max_completion_length', o.maxCompletionLength],
        ['temperature', o.temperature], ['beta', o.beta], ['epsilon', o.epsilon], ['num_iterations', 1], ['loss_type', 'grpo'],
        ['scale_rewards', 'group'],
      ];
    case 'dpo':
      return [
        ['beta', o.beta], ['loss_type', o.lossType], ['label_smoothing', o.labelSmoothing],
        ...(o.rpoAlpha != null ? [['rpo_alpha', o.rpoAlpha] as [string, unknown]] : []), ['precompute_ref_log_probs', true],
      ];
    case 'orpo':
      return [['beta', o.beta]];
    case 'simpo':
      return [['loss_type', 'simpo'], ['beta', o.beta], ['simpo_gamma', o.simpoGamma], ['cpo_alpha', 0], ['label_smoothing', o.labelSmoothing]];
    case 'kto':
      return [['beta', o.beta], ['desirable_weight', o.desirableWeight], ['undesirable_weight', o.undesirableWeight], ['precompute_ref_log_probs', true]];
  }
}

const yamlValue = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));
const pyValue = (v: unknown): string => (typeof v === 'boolean' ? (v ? 'True' : 'False') : typeof v === 'string' ? JSON.stringify(v) : String(v));

/** GRPO counts its batch in completions: the prompts of a step times num_generations. */
function grpoBatch(line: string, o: MethodOptions, sep: string): string {
  if (o.method !== 'grpo') return line;
  const key = new RegExp(`^(\\s*per_device_(?:train|eval)_batch_size${sep} ?)(\\d+)`);
  return line.replace(key, (_, k: string, n: string) => `${k}${Number(n) * o.generations}`);
}

/** The user's reward functions as Python: TRL calls Python rewards, so each one is to be ported from the JavaScript file. */
function grpoRewardPython(o: GrpoRunOptions): string[] {
  return [
    `# Reward functions: tabtune ran ${o.rewardFunctions.join(', ')} from ${o.rewardSource} (JavaScript). Port each to Python:`,
    ...o.rewardFunctions.flatMap((name) => [
      `def ${name.replace(/\W/g, '_')}(prompts, completions, **kwargs):`,
      `    raise NotImplementedError("port ${name} from ${o.rewardSource.replace(/["\\]/g, '')} to Python (one float per completion)")`,
    ]),
    `reward_funcs = [${o.rewardFunctions.map((n) => n.replace(/\W/g, '_')).join(', ')}]`,
  ];
}

export function preferenceTrlConfig(m: RunManifest, cfg: ModelConfig, o: MethodOptions): { yaml: string; python: string } {
  const base = trlConfig(m, cfg);
  const trainer = trlTrainer(o.method);
  const configClass = trainer.replace(/Trainer$/, 'Config');
  const fields = preferenceTrlFields(o, m.seq);
  const dropped = o.method === 'grpo' ? NOT_GRPO : SFT_ONLY;
  const sftOnly = (line: string, sep: string) => dropped.some((k) => line.trimStart().startsWith(`${k}${sep}`));
  const cli = o.method === 'dpo' || o.method === 'kto' || o.method === 'grpo'
    ? `trl ${o.method} --config trl_config.yaml` : 'python train_trl.py (no trl CLI command for it)';
  const fieldsNote = o.method === 'kto' ? '"prompt", "completion", "label"' : o.method === 'grpo' ? '"prompt" and the reward\'s columns'
    : '"prompt", "chosen", "rejected"';
  const yaml = base.yaml
    .split('\n')
    .filter((l) => !sftOnly(l, ':'))
    .map((l) => (l.startsWith('# Run: trl sft') ? `# Run: ${cli}   (${trainer}; dataset: {${fieldsNote}} JSONL)` : grpoBatch(l, o, ':')))
    .join('\n')
    .replace(/\n$/, '') + '\n' + fields.map(([k, v]) => `${k}: ${yamlValue(v)}`).join('\n') + '\n'
    + (o.method === 'grpo' ? `# reward_funcs: ${o.rewardFunctions.join(', ')} from ${o.rewardSource} (JavaScript), to port to Python (train_trl.py)\n` : '');
  const python = base.python
    .split('\n')
    .filter((l) => !sftOnly(l, '='))
    .flatMap((l) => {
      if (l === 'args = SFTConfig(') {
        const rewards = o.method === 'grpo' ? grpoRewardPython(o) : [];
        return [...rewards, `args = ${configClass}(`, ...fields.map(([k, v]) => `    ${k}=${pyValue(v)},`)];
      }
      if (o.method === 'grpo' && l === '    args=args,') return ['    reward_funcs=reward_funcs,', l];
      return [grpoBatch(l, o, '=')];
    })
    .join('\n')
    .replace('from trl import SFTConfig, SFTTrainer', `from trl import ${configClass}, ${trainer}`)
    .replace('trainer = SFTTrainer(', `trainer = ${trainer}(`);
  return { yaml, python };
}
