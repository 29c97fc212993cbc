/**
 * The TRL export of a preference run: the SFT export's shared settings (model, optimizer,
 * schedule, PEFT) under the matching trainer (DPOTrainer, ORPOTrainer, CPOTrainer with
 * loss_type "simpo", KTOTrainer) with the method's hyperparameters.
 */
import type { ModelConfig } from '../../model/config.ts';
import { trlConfig, type RunManifest } from '../manifest.ts';
import { trlTrainer, type PreferenceOptions } from './method.ts';

/** SFTConfig fields that the preference configs do not have. */
const SFT_ONLY = ['packing', 'completion_only_loss', 'assistant_only_loss'];

/** The method's fields, as TRL names them. The reference log-probs are computed once, before training. */
export function preferenceTrlFields(o: PreferenceOptions): [string, unknown][] {
  switch (o.method) {
    case 'dpo':
      return [['beta', o.beta], ['loss_type', o.lossType], ['label_smoothing', o.labelSmoothing], ['precompute_ref_log_probs', true]];
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

export function preferenceTrlConfig(m: RunManifest, cfg: ModelConfig, o: PreferenceOptions): { yaml: string; python: string } {
  const base = trlConfig(m, cfg);
  const trainer = trlTrainer(o.method);
  const configClass = trainer.replace(/Trainer$/, 'Config');
  const fields = preferenceTrlFields(o);
  const sftOnly = (line: string, sep: string) => SFT_ONLY.some((k) => line.trimStart().startsWith(`${k}${sep}`));
  const cli = o.method === 'dpo' || o.method === 'kto' ? `trl ${o.method} --config trl_config.yaml` : 'python train_trl.py (no trl CLI command for it)';
  const fieldsNote = o.method === 'kto' ? '"completion", "label"' : '"chosen", "rejected"';
  const yaml = base.yaml
    .split('\n')
    .filter((l) => !sftOnly(l, ':'))
    .map((l) => (l.startsWith('# Run: trl sft') ? `# Run: ${cli}   (${trainer}; dataset: {"prompt", ${fieldsNote}} JSONL)` : l))
    .join('\n')
    .replace(/\n$/, '') + '\n' + fields.map(([k, v]) => `${k}: ${yamlValue(v)}`).join('\n') + '\n';
  const python = base.python
    .split('\n')
    .filter((l) => !sftOnly(l, '='))
    .flatMap((l) => (l === 'args = SFTConfig(' ? [`args = ${configClass}(`, ...fields.map(([k, v]) => `    ${k}=${pyValue(v)},`)] : [l]))
    .join('\n')
    .replace('from trl import SFTConfig, SFTTrainer', `from trl import ${configClass}, ${trainer}`)
    .replace('trainer = SFTTrainer(', `trainer = ${trainer}(`);
  return { yaml, python };
}
