/**
 * GRPO as a TrainJob strategy, so it writes the same adapter, run files and manifest as every
 * run. The host gives the prompts file's text and the reward functions' source as strings and
 * a sandbox that loads that source (node:vm in the CLI, a Worker in the app); the core parses
 * and tokenizes the prompts, samples, scores and trains.
 */
import { parseGrpoPrompts, promptText } from '../data/grpo-prompts.ts';
import type { RecordProblem } from '../data/records.ts';
import { sha256Hex } from '../data/sha256.ts';
import type { Tokenizer } from '../formats/tokenizer/tokenizer.ts';
import type { Transformer } from '../model/transformer.ts';
import type { GrpoOptions } from '../train/preference/grpo-loss.ts';
import { grpoObjective, grpoRows, type Grpo, type GrpoPrompt } from '../train/preference/grpo.ts';
import type { GrpoRunOptions } from '../train/preference/method.ts';
import type { RewardFunctions } from '../train/preference/reward.ts';
import type { TrainStrategy } from './train-job.ts';

/** A GRPO run as the workspace or Worker describes it: method, options, the reward source as text. */
export interface GrpoJobSpec {
  readonly method: 'grpo';
  readonly options: GrpoOptions;
  /** The reward functions' file name (for messages and the manifest) and JavaScript source. */
  readonly reward: { readonly name: string; readonly source: string };
  /** The prompts file: {"prompt": ...} records (text or messages), other columns passed to the rewards. */
  readonly data: { readonly name: string; readonly text: string };
}

/** Loads reward functions from source in the host's sandbox (with its time limit). */
export type RewardLoader = (name: string, source: string) => RewardFunctions | Promise<RewardFunctions>;

/** The prompts of a GRPO data file, tokenized as the policy sees them (chat prompts through the chat template). */
export function grpoPrompts(name: string, text: string, tok: Tokenizer): { prompts: GrpoPrompt[]; problems: RecordProblem[] } {
  const data = parseGrpoPrompts(name, text);
  const problems = [...data.problems];
  const prompts: GrpoPrompt[] = [];
  for (const r of data.records) {
    if (typeof r.prompt !== 'string' && tok.chatTemplate === undefined) {
      problems.push({ source: r.source, reason: `chat prompts need a chat template; ${tok.name} has none` });
      continue;
    }
    const ids = typeof r.prompt === 'string'
      ? tok.encode(r.prompt, { addSpecialTokens: true })
      : tok.encode(tok.applyChatTemplate([...r.prompt], { addGenerationPrompt: true }));
    prompts.push({ ids, text: promptText(r.prompt), fields: r.fields });
  }
  return { prompts, problems };
}

export interface GrpoStrategyInit {
  readonly options: GrpoOptions;
  readonly prompts: readonly GrpoPrompt[];
  readonly rewards: RewardFunctions;
  readonly tokenizer: Tokenizer;
  /** Prompts per step (the run's batch). */
  readonly batch: number;
  readonly padId: number;
  readonly stopTokens: readonly number[];
  /** The prompts file's hash, for the manifest. */
  readonly hash: string;
}

export function grpoStrategy(s: GrpoStrategyInit): TrainStrategy {
  const { rows, seq } = grpoRows(s.prompts, s.options, s.padId);
  const options: GrpoRunOptions = { method: 'grpo', ...s.options, rewardSource: s.rewards.source, rewardFunctions: s.rewards.names };
  let grpo: Grpo | null = null;
  return {
    rows: { seq, train: rows, validation: [] },
    async objective(model: Transformer) {
      grpo = await grpoObjective({
        model, options: s.options, prompts: s.prompts, rewards: s.rewards, batch: s.batch, padId: s.padId, stopTokens: s.stopTokens,
        decode: (ids) => s.tokenizer.decode(ids, { skipSpecialTokens: true }),
      });
      return grpo.objective;
    },
    describe: { options, hash: s.hash, format: 'prompt-only' },
    destroy() {
      grpo?.destroy();
      grpo = null;
    },
  };
}

/** A GRPO spec's strategy: prompts tokenized, rewards loaded in the host's sandbox. Bad prompt rows come back as problems. */
export async function grpoJobStrategy(
  spec: GrpoJobSpec, tok: Tokenizer, load: RewardLoader, run: { readonly batch: number; readonly padId: number; readonly stopTokens: readonly number[] },
): Promise<{ strategy: TrainStrategy; prompts: number; problems: RecordProblem[] }> {
  const { prompts, problems } = grpoPrompts(spec.data.name, spec.data.text, tok);
  const rewards = await load(spec.reward.name, spec.reward.source);
  const hash = await sha256Hex(new TextEncoder().encode(spec.data.text));
  const strategy = grpoStrategy({ options: spec.options, prompts, rewards, tokenizer: tok, ...run, hash });
  return { strategy, prompts: prompts.length, problems };
}
