import type { ModelConfig } from '../model/config.ts';
import type { TrainConfig } from './config.ts';
import type { TrainEvent } from './events.ts';
import type { MethodOptions } from './preference/method.ts';
import { TRL_QUANT_KEYS, trlQuantFields, trlQuantImports, trlQuantPython } from './trl-quant.ts';

/** Everything needed to understand and repeat a run. */
export interface RunManifest {
  readonly tabtune: string;
  readonly createdAt: string;
  readonly model: { readonly name: string; readonly source: unknown; readonly arch: string; readonly parameters: number; readonly dtype: string };
  readonly dataset: {
    readonly name: string;
    /** SHA-256 of the dataset's records (canonical JSON). */
    readonly hash: string;
    readonly version: number;
    readonly format: 'text' | 'prompt-completion' | 'chat' | 'tokens' | 'mixed' | 'preference' | 'unpaired-preference' | 'prompt-only';
    readonly trainRows: number;
    readonly validationRows: number;
    readonly maxLength: number;
    readonly packing: boolean;
    readonly maskPrompt: boolean;
    readonly validationFraction: number;
    readonly splitSeed: number;
    readonly chatTemplate: string | null;
  };
  readonly config: TrainConfig;
  readonly seq: number;
  readonly totalSteps: number;
  readonly metrics: {
    readonly steps: number;
    readonly finalLoss: number | null;
    readonly bestValLoss: number | null;
    readonly evals: readonly { step: number; valLoss: number }[];
  };
  /** SHA-256 of adapter_model.safetensors (or model.safetensors for full fine-tuning). */
  readonly adapterHash: string | null;
  readonly targetModules: readonly string[];
  /** Preference runs (DPO, ORPO, SimPO, KTO): the method and its hyperparameters. */
  readonly preference?: MethodOptions;
}

export function manifestMetrics(events: readonly TrainEvent[]): RunManifest['metrics'] {
  const steps = events.filter((e) => e.type === 'step') as Extract<TrainEvent, { type: 'step' }>[];
  const evals = (events.filter((e) => e.type === 'eval') as Extract<TrainEvent, { type: 'eval' }>[]).map((e) => ({ step: e.step, valLoss: e.valLoss }));
  return {
    steps: steps.at(-1)?.step ?? 0,
    finalLoss: steps.at(-1)?.loss ?? null,
    bestValLoss: evals.length ? Math.min(...evals.map((e) => e.valLoss)) : null,
    evals,
  };
}

const yamlValue = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? `[${v.map(yamlValue).join(', ')}]` : String(v));

/**
 * The same run for Hugging Face TRL + PEFT on a cluster: a config for `trl sft --config` and an
 * equivalent Python script. Names follow TRL's SFTConfig/ModelConfig and PEFT's LoraConfig.
 */
export function trlConfig(m: RunManifest, cfg: ModelConfig): { yaml: string; python: string } {
  const c = m.config;
  const fromRepo = typeof m.model.source === 'object' && m.model.source && 'repo' in (m.model.source as object);
  const modelId = fromRepo ? (m.model.source as { repo: string }).repo : m.model.name;
  const steps = c.steps ?? -1;
  const chat = m.dataset.format === 'chat';
  const entries: [string, unknown][] = [
    ['model_name_or_path', modelId],
    ['dataset_name', `./${m.dataset.name}`],
    ['output_dir', './tabtune-run'],
    ['learning_rate', c.lr],
    ['lr_scheduler_type', c.schedule === 'constant' ? (c.warmup > 0 ? 'constant_with_warmup' : 'constant') : c.schedule],
    ['warmup_steps', c.warmup],
    ['per_device_train_batch_size', c.batch],
    ['per_device_eval_batch_size', c.batch],
    ['gradient_accumulation_steps', c.gradAccum],
    ['num_train_epochs', c.epochs],
    ['max_steps', steps],
    ['weight_decay', c.weightDecay],
    ['max_grad_norm', c.clip],
    ['adam_beta1', c.betas[0]],
    ['adam_beta2', c.betas[1]],
    ['adam_epsilon', c.eps],
    ['optim', 'adamw_torch'],
    ['seed', c.seed],
    ['data_seed', c.seed],
    ['max_length', m.dataset.maxLength],
    ['packing', m.dataset.packing],
    [chat ? 'assistant_only_loss' : 'completion_only_loss', m.dataset.maskPrompt],
    ['gradient_checkpointing', c.gradCheckpointing],
    ['eval_strategy', c.evalEvery > 0 ? 'steps' : m.dataset.validationRows > 0 ? 'epoch' : 'no'],
    ...(c.evalEvery > 0 ? ([['eval_steps', c.evalEvery]] as [string, unknown][]) : []),
    ['save_strategy', c.saveEvery > 0 ? 'steps' : 'no'],
    ...(c.saveEvery > 0 ? ([['save_steps', c.saveEvery]] as [string, unknown][]) : []),
    ['logging_steps', 1],
    ['bf16', false],
    ['torch_dtype', 'float32'],
    // QLoRA: the adapter was trained against the base held quantised; TRL loads it the same way.
    ...trlQuantFields(c.quant),
  ];
  if (c.method === 'lora') {
    entries.push(
      ['use_peft', true], ['lora_r', c.lora.r], ['lora_alpha', c.lora.alpha], ['lora_dropout', c.lora.dropout],
      ['lora_target_modules', m.targetModules], ['use_rslora', c.lora.rslora], ['use_dora', !!c.lora.dora], ['lora_task_type', 'CAUSAL_LM'],
    );
  }
  if (c.earlyStoppingPatience > 0) entries.push(['load_best_model_at_end', true], ['metric_for_best_model', 'eval_loss'], ['greater_is_better', false]);
  const yaml = [
    `# TRL + PEFT configuration of tabtune run "${m.dataset.name}" (${m.createdAt}).`,
    '# Run: trl sft --config trl_config.yaml   (dataset_name: a folder with the exported train/validation JSONL)',
    ...(m.dataset.chatTemplate ? [`# The model's chat template is used as is (tokenizer_config.json / chat_template.jinja).`] : []),
    ...(c.earlyStoppingPatience > 0
      ? [`# Early stopping: add EarlyStoppingCallback(early_stopping_patience=${c.earlyStoppingPatience}) (see the Python script).`]
      : []),
    ...entries.map(([k, v]) => `${k}: ${yamlValue(v)}`),
  ].join('\n') + '\n';
  const py = (v: unknown): string => {
    if (typeof v === 'boolean') return v ? 'True' : 'False';
    if (typeof v === 'string') return JSON.stringify(v);
    return Array.isArray(v) ? `[${v.map(py).join(', ')}]` : String(v);
  };
  const modelArgs = ['model_name_or_path', 'dataset_name', 'use_peft', 'torch_dtype', ...TRL_QUANT_KEYS];
  const sft = entries.filter(([k]) => !modelArgs.includes(k) && !k.startsWith('lora_'));
  const python = [
    `"""The tabtune run as Hugging Face TRL + PEFT (${cfg.arch}, ${m.model.name})."""`,
    'from datasets import load_dataset',
    'from peft import LoraConfig',
    ...trlQuantImports(c.quant),
    'from transformers import EarlyStoppingCallback',
    'from trl import SFTConfig, SFTTrainer',
    '',
    `dataset = load_dataset("json", data_files={"train": "train.jsonl", "validation": "validation.jsonl"})`,
    'args = SFTConfig(',
    ...sft.map(([k, v]) => `    ${k}=${py(v)},`),
    ...trlQuantPython(c.quant),
    ')',
    c.method === 'lora'
      ? `peft_config = LoraConfig(r=${c.lora.r}, lora_alpha=${py(c.lora.alpha)}, lora_dropout=${py(c.lora.dropout)}, `
        + `target_modules=${py(m.targetModules)}, use_rslora=${py(c.lora.rslora)}, bias="none", task_type="CAUSAL_LM")`
      : 'peft_config = None  # full fine-tuning',
    'trainer = SFTTrainer(',
    `    model=${py(modelId)},`,
    '    args=args,',
    '    train_dataset=dataset["train"],',
    '    eval_dataset=dataset["validation"] if len(dataset["validation"]) else None,',
    '    peft_config=peft_config,',
    ...(c.earlyStoppingPatience > 0 ? [`    callbacks=[EarlyStoppingCallback(early_stopping_patience=${c.earlyStoppingPatience})],`] : []),
    ')',
    'trainer.train()',
    'trainer.save_model()',
    '',
  ].join('\n');
  return { yaml, python };
}
