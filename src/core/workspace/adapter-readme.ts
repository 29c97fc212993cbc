import { quantExportNote, type BaseQuant } from '../model/base-quant.ts';
import type { Precision } from '../model/precision.ts';
import type { RunRecord } from './runs.ts';

/** The README.md that travels in an exported adapter folder: what it is and how PEFT loads it. */
export function adapterReadme(run: RunRecord): string {
  const c = run.config;
  return [
    `# ${run.name}`,
    '',
    `A LoRA adapter trained with tabtune (in a browser tab, on WebGPU) for \`${run.model.name}\`.`,
    '',
    '```python',
    'from peft import PeftModel',
    'from transformers import AutoModelForCausalLM',
    `base = AutoModelForCausalLM.from_pretrained("${run.model.name}")`,
    'model = PeftModel.from_pretrained(base, "./")',
    '```',
    '',
    c ? `LoRA r=${c.lora.r}, alpha=${c.lora.alpha}, dropout=${c.lora.dropout}; lr ${c.lr} (${c.schedule}), ${run.step} steps, seed ${c.seed}.` : '',
    run.dataset ? `Dataset: ${run.dataset.name} (version ${run.dataset.version}, sha256 ${run.dataset.hash.slice(0, 16)}…).` : '',
    ...baseLines(c?.quant ?? 'none', c?.precision ?? 'f32'),
    '',
  ].join('\n');
}

/** How the base was held in training; a quantised one gets QLoRA's caveat and how to load it the same way. */
function baseLines(quant: BaseQuant, precision: Precision): string[] {
  const note = quantExportNote(quant);
  if (note) return ['', `Trained against a quantised base: ${note}.`];
  return precision === 'f16' ? ['', 'The base\'s linear weights were held as f16 in training (matmuls accumulated in f32).'] : [];
}
