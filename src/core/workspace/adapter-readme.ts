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
    '',
  ].join('\n');
}
