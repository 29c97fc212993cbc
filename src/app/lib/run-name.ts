/** A new run's name when none is typed: dataset, method and a number no earlier run of it has. */
import type { RunSummary } from '../../worker/api.ts';

export function freshRunName(dataset: string, form: { method: 'lora' | 'full'; r: number }, existing: readonly Pick<RunSummary, 'name'>[]): string {
  const stem = `${dataset} · ${form.method === 'lora' ? `LoRA r${form.r}` : 'full'}`;
  const taken = new Set(existing.map((r) => r.name));
  let n = 1;
  while (taken.has(`${stem} · run ${n}`)) n++;
  return `${stem} · run ${n}`;
}
