/**
 * The GRPO reward functions shipped with tabtune (public/rewards, the same files the CLI's
 * examples use), bundled so the editor works offline, and a sample input to try one on.
 */
import exactAnswer from '../../../public/rewards/exact-answer.js?raw';
import format from '../../../public/rewards/format.js?raw';

export interface RewardExample {
  readonly file: string;
  readonly label: string;
  readonly source: string;
}

export const REWARD_EXAMPLES: readonly RewardExample[] = [
  { file: 'exact-answer.js', label: 'Exact answer (the record\'s "answer" column)', source: exactAnswer },
  { file: 'format.js', label: 'Format: one short line', source: format },
];

/** A demo-task record to try a function on before a run. */
export const SAMPLE_INPUT = {
  prompt: 'Belgium is in Europe.\nQuestion: Which region is Belgium in?',
  completion: 'Europe',
  fields: { answer: 'Europe', category: 'region' },
} as const;
