/**
 * Where the user is in the seven steps of fine-tuning, and the one next step to offer. Read from
 * the other stores; it holds no state of its own.
 */
import type { RunSummary } from '../../worker/api.ts';
import { datasets } from './datasets.svelte.ts';
import { evaluation, playground } from './evaluate.svelte.ts';
import { model } from './model.svelte.ts';
import { nav } from './nav.svelte.ts';
import { runs } from './runs.svelte.ts';
import { training } from './training.svelte.ts';

export const STEPS = ['prepare data', 'choose model', 'set up', 'fine-tune', 'evaluate', 'deploy', 'monitor'] as const;
export type Step = (typeof STEPS)[number];

/** The step the current view (and a running training) stands for. */
export function currentStep(): Step {
  switch (nav.view) {
    case 'data': return 'prepare data';
    case 'model': return 'choose model';
    case 'train': return training.active ? 'fine-tune' : 'set up';
    case 'classroom': return 'fine-tune';
    case 'evaluate': return 'evaluate';
    case 'export': return 'deploy';
    default: return 'monitor';
  }
}

/** Steps already done, as far as the app can tell. */
export function doneSteps(): Set<Step> {
  const done = new Set<Step>();
  if (datasets.list.length) done.add('prepare data');
  if (model.summary) done.add('choose model');
  if (runs.list.some((r) => r.state !== 'imported')) done.add('set up');
  if (trainedRun()) done.add('fine-tune');
  if (evaluation.tuned) done.add('evaluate');
  return done;
}

/** The newest run that trained to an end and has weights to evaluate or export. */
export function trainedRun(): RunSummary | null {
  const ended = (r: RunSummary) => r.state === 'finished' || r.state === 'stopped' || r.state === 'early-stopped';
  return runs.list.find((r) => ended(r) && (r.hasAdapter || r.config?.method === 'full')) ?? null;
}

/** Evaluate a run on its own validation data (the guided "Evaluate this run →"). */
export function evaluateRun(r: RunSummary): void {
  evaluation.runId = r.id;
  playground.runId = r.id;
  runs.selectedId = r.id;
  if (r.dataset && datasets.list.some((d) => d.id === r.dataset!.id)) {
    evaluation.datasetId = r.dataset.id;
    evaluation.split = 'validation';
  }
  nav.go('evaluate');
}

export function exportRun(r: RunSummary): void {
  runs.selectedId = r.id;
  nav.go('export');
}
