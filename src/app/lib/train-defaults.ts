/**
 * The training form's starting values for the loaded model and the selected dataset, with one line
 * per choice saying why: the core's size rule (defaultTrainConfig, as `tabtune train` fills the
 * flags it is not given), or the demo task's run for the demo dataset (as `tabtune demo`).
 */
import { defaultTrainConfig } from '../../core/train/defaults.ts';
import { demoTrainConfig, DEMO_TASK } from '../../core/train/demo-run.ts';
import type { TrainConfig } from '../../core/train/config.ts';
import type { DatasetSummary } from '../../worker/api.ts';
import { DEMO_DATASET } from './demo.ts';
import { sci } from './format.ts';

/** The form fields the rule chooses; the others keep the form's own defaults. */
export const DERIVED_FIELDS = ['lr', 'schedule', 'warmup', 'batch', 'stopBy', 'epochs', 'steps', 'weightDecay', 'clip', 'r', 'alpha', 'dropout'] as const;
export type DerivedField = (typeof DERIVED_FIELDS)[number];

export interface DerivedValues {
  lr: number;
  schedule: TrainConfig['schedule'];
  warmup: number;
  batch: number;
  stopBy: 'epochs' | 'steps';
  epochs: number;
  steps: number;
  weightDecay: number;
  clip: number;
  r: number;
  alpha: number;
  dropout: number;
}

export interface FormDefaults {
  readonly values: DerivedValues;
  /** One line per choice. */
  readonly why: readonly string[];
}

function valuesOf(c: TrainConfig, steps: number): DerivedValues {
  return {
    lr: c.lr, schedule: c.schedule, warmup: c.warmup, batch: c.batch, stopBy: c.steps === undefined ? 'epochs' : 'steps', epochs: c.epochs,
    steps, weightDecay: c.weightDecay, clip: c.clip, r: c.lora.r, alpha: c.lora.alpha, dropout: c.lora.dropout,
  };
}

const size = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : `${(n / 1e6).toFixed(1)}M`);

/** Training examples of a dataset: its records less the validation share (some may still be left out when tokenized). */
export function trainingExamples(d: DatasetSummary): number {
  return Math.max(1, Math.round(d.records * (1 - d.options.validationFraction)));
}

export function formDefaults(model: { readonly parameters: number; readonly name: string }, dataset: DatasetSummary, method: 'lora' | 'full'): FormDefaults {
  if (dataset.name === DEMO_DATASET.name && method === 'lora') {
    const c = demoTrainConfig({ steps: DEMO_TASK.steps, lr: DEMO_TASK.lr, r: DEMO_TASK.r });
    return {
      values: valuesOf(c, DEMO_TASK.steps),
      why: [
        `The demo task's run, as “tabtune demo” trains it:`,
        `learning rate ${sci(c.lr)}: a 5.5M-parameter model learning one short skill takes large steps`,
        `${DEMO_TASK.steps} steps of batch ${c.batch}: the skill shows in a few minutes on a CPU driver`,
        `warmup ${c.warmup} steps into a ${c.schedule} decay, gradient clip ${c.clip}: large steps stay stable`,
        `LoRA r ${c.lora.r}, alpha ${c.lora.alpha}, no dropout, no weight decay, on every linear layer`,
      ],
    };
  }
  const examples = trainingExamples(dataset);
  const { config: c } = defaultTrainConfig({ parameters: model.parameters }, { examples }, method);
  const steps = Math.max(1, Math.ceil(examples / c.batch)) * c.epochs;
  const lines = [
    `Chosen from the model and data size, as “tabtune train” chooses what it is not given:`,
    `learning rate ${sci(c.lr)}: ${method === 'lora' ? 'LoRA' : 'full fine-tuning'} of a ${size(model.parameters)}-parameter model ` +
      `(about 2e-4 at 1B, larger for smaller models${method === 'full' ? ', a tenth for full fine-tuning' : ''})`,
    `${c.epochs} epoch${c.epochs > 1 ? 's' : ''} over about ${examples.toLocaleString('en-US')} training examples ` +
      `(${steps.toLocaleString('en-US')} steps of batch ${c.batch}): small sets need a few passes, large ones one`,
    `warmup ${c.warmup} steps (a tenth of the run) into a ${c.schedule} decay, gradient clip ${c.clip}: the first steps cannot blow up`,
  ];
  if (method === 'lora') lines.push(`LoRA r ${c.lora.r}, alpha ${c.lora.alpha}, dropout ${c.lora.dropout}, on every linear layer`);
  return { values: valuesOf(c, steps), why: lines };
}
