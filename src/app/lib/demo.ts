/**
 * The first-run sample ("Try the demo data"): the one place the app names the demo dataset, so it
 * can point at another task's files without touching the views.
 */
export const DEMO_DATASET = {
  /** Served with the app from public/ (and cached by the service worker for offline use). */
  path: 'datasets/factbook-qa.jsonl',
  /** The name it gets in the dataset list. */
  name: 'factbook-qa.jsonl',
  /** One line under the button. */
  description: 'Factbook questions and answers (823 chats), served with the app',
  /** Three held-out questions (from datasets/factbook-qa-eval.jsonl) the classroom view asks as the run goes. */
  classroomPrompts: ['What language is spoken in Kazakhstan?', 'Which city is the capital of Barbados?', 'In which region of the world is Estonia?'],
} as const;
