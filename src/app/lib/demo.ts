/**
 * The first-run sample ("Try the demo data"): the one place the app names the demo task's files,
 * so it can point at another task without touching the views. It is the CLI's demo task
 * (core/train/demo-run.ts DEMO_TASK): the same dataset, held-out set and run settings.
 */
import { DEMO_TASK } from '../../core/train/demo-run.ts';

export const DEMO_DATASET = {
  /** Served with the app from public/ (and cached by the service worker for offline use). */
  path: `datasets/${DEMO_TASK.dataset}.jsonl`,
  /** The name it gets in the dataset list. */
  name: `${DEMO_TASK.dataset}.jsonl`,
  /** Questions about countries no training record mentions: imported beside it, for the Evaluate view. */
  heldOut: { path: `datasets/${DEMO_TASK.dataset}-eval.jsonl`, name: `${DEMO_TASK.dataset}-eval.jsonl` },
  /** Examples are cut where the CLI's demo cuts them. */
  options: { maxLength: DEMO_TASK.maxLength },
  /** One line under the button. */
  description: 'Read the region from a one-sentence passage (585 questions, 40 held-out), served with the app',
  /** The first three held-out questions (datasets/demo-grounded-qa-eval.jsonl), asked by the classroom view as the run goes. */
  classroomPrompts: [
    'Somalia is in Africa.\nQuestion: Which region is Somalia in?',
    'Grenada is in Central America and the Caribbean.\nQuestion: Which region is Grenada in?',
    'San Marino is in Europe.\nQuestion: Which region is San Marino in?',
  ],
} as const;
