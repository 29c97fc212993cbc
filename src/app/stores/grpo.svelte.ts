/**
 * GRPO's settings in the Train view, kept in localStorage: TRL's GRPOConfig hyperparameters
 * (num_generations, beta, epsilon, temperature, max_completion_length), the reward functions'
 * JavaScript (an example or the user's own) and the time limit of each reward call.
 */
import type { GrpoSettings } from '../../worker/api.ts';
import { REWARD_EXAMPLES } from '../lib/reward-examples.ts';

const KEY = 'tabtune.grpo';

interface Saved {
  generations: number;
  beta: number;
  epsilon: number;
  temperature: number;
  maxCompletionLength: number;
  timeoutMs: number;
  /** An example's file name, or 'custom' for the user's own code. */
  rewardFile: string;
  source: string;
}

/**
 * TRL's GRPOConfig defaults (ε 0.2, temperature 1) with fewer and shorter completions for a tab, and
 * DeepSeekMath's β 0.04 instead of TRL's 0, so the KL to the adapter-off reference is kept in check and charted.
 */
const DEFAULTS: Saved = {
  generations: 4, beta: 0.04, epsilon: 0.2, temperature: 1, maxCompletionLength: 16, timeoutMs: 1000,
  rewardFile: REWARD_EXAMPLES[0]!.file, source: REWARD_EXAMPLES[0]!.source,
};

function load(): Saved {
  try {
    return { ...DEFAULTS, ...(JSON.parse(localStorage.getItem(KEY) ?? 'null') as Partial<Saved> | null ?? {}) };
  } catch {
    return { ...DEFAULTS };
  }
}

class GrpoStore {
  private readonly saved = load();
  generations = $state(this.saved.generations);
  beta = $state(this.saved.beta);
  epsilon = $state(this.saved.epsilon);
  temperature = $state(this.saved.temperature);
  maxCompletionLength = $state(this.saved.maxCompletionLength);
  timeoutMs = $state(this.saved.timeoutMs);
  rewardFile = $state(this.saved.rewardFile);
  source = $state(this.saved.source);

  /** Picks an example (its code replaces the editor's) or keeps the code as the user's own. */
  choose(file: string): void {
    this.rewardFile = file;
    const example = REWARD_EXAMPLES.find((e) => e.file === file);
    if (example) this.source = example.source;
  }

  /** Editing an example makes it the user's own. */
  edit(source: string): void {
    this.source = source;
    if (REWARD_EXAMPLES.find((e) => e.file === this.rewardFile)?.source !== source) this.rewardFile = 'custom';
  }

  get rewardName(): string {
    return this.rewardFile === 'custom' ? 'my-reward.js' : this.rewardFile;
  }

  /** Problems with the fields, in words (the run does not start while there are any). */
  get problems(): string[] {
    const out: string[] = [];
    if (!Number.isInteger(this.generations) || this.generations < 2) out.push('Completions per prompt (G) must be a whole number of at least 2');
    if (!(this.beta >= 0)) out.push('β must be 0 or more');
    if (!(this.epsilon > 0 && this.epsilon < 1)) out.push('ε must be between 0 and 1');
    if (!(this.temperature > 0)) out.push('Temperature must be above 0');
    if (!Number.isInteger(this.maxCompletionLength) || this.maxCompletionLength < 1) out.push('Max completion length must be a whole number above 0');
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs < 1) out.push('The time limit must be a whole number of ms above 0');
    if (!this.source.trim()) out.push('Write a reward function or pick an example');
    return out;
  }

  save(): void {
    try {
      const s: Saved = {
        generations: this.generations, beta: this.beta, epsilon: this.epsilon, temperature: this.temperature,
        maxCompletionLength: this.maxCompletionLength, timeoutMs: this.timeoutMs, rewardFile: this.rewardFile, source: this.source,
      };
      localStorage.setItem(KEY, JSON.stringify(s));
    } catch {
      /* storage full or private mode */
    }
  }

  runSettings(): GrpoSettings {
    return {
      options: {
        generations: this.generations, beta: this.beta, epsilon: this.epsilon, temperature: this.temperature,
        maxCompletionLength: this.maxCompletionLength,
      },
      reward: { name: this.rewardName, source: this.source },
      timeoutMs: this.timeoutMs,
    };
  }
}

export const grpo = new GrpoStore();
