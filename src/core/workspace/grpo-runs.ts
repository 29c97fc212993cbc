/**
 * A GRPO run on a workspace dataset: each record's prompt (a chat record's turns before its
 * answer, or a prompt record's prompt) with its other columns, in the prompt format `tabtune
 * train --method grpo` reads, scored by the user's reward functions in the host's sandbox (a
 * dedicated Worker in the app). The strategy is the CLI's (pipeline/grpo-strategy.ts).
 */
import type { DatasetRecord, RecordProblem } from '../data/records.ts';
import { grpoJobStrategy } from '../pipeline/grpo-strategy.ts';
import type { TrainStrategy } from '../pipeline/train-job.ts';
import type { Session } from '../session.ts';
import type { TrainConfig } from '../train/config.ts';
import { grpoOptions, type GrpoOptions } from '../train/preference/grpo-loss.ts';
import type { RewardFunctions } from '../train/preference/reward.ts';
import type { DatasetMeta } from './datasets.ts';

/** What the app sends for a GRPO run: the options (TRL defaults for what is absent) and the reward source. */
export interface GrpoSettings {
  readonly options: Partial<GrpoOptions>;
  /** The reward functions' name (for messages and the manifest) and JavaScript source. */
  readonly reward: { readonly name: string; readonly source: string };
  /** Time limit of each reward call in milliseconds. */
  readonly timeoutMs: number;
}

/** What a GRPO run record keeps, so the run can be told apart and continued. */
export interface GrpoRunSettings extends GrpoSettings {
  readonly options: GrpoOptions;
}

/** Loads reward functions in the host's sandbox with a time limit per call. */
export type RewardSandboxLoader = (name: string, source: string, timeoutMs: number) => Promise<RewardFunctions>;

export function grpoRunSettings(s: GrpoSettings): GrpoRunSettings {
  if (!s.reward.source.trim()) throw new Error('GRPO needs a reward function: write one or pick an example');
  if (!(Number.isInteger(s.timeoutMs) && s.timeoutMs >= 1)) throw new Error(`the reward time limit must be a whole number of ms ≥ 1, got ${s.timeoutMs}`);
  return { ...s, options: grpoOptions(s.options) };
}

/**
 * The dataset's records as a GRPO prompt file (JSONL, one line per record in order): chat and
 * prompt/completion records keep their answer as the "answer" column, as the CLI does.
 */
export function grpoPromptLines(records: readonly DatasetRecord[]): { text: string; problems: RecordProblem[] } {
  const lines: string[] = [];
  const problems: RecordProblem[] = [];
  for (const r of records) {
    const x = r.record;
    const fields = r.fields ?? {};
    if (x.kind === 'chat') lines.push(JSON.stringify({ ...fields, messages: x.messages }));
    else if (x.kind === 'prompt') lines.push(JSON.stringify({ answer: x.completion, ...fields, prompt: x.prompt }));
    else {
      problems.push({ source: r.source, reason: `a ${x.kind} record has no prompt for GRPO` });
      lines.push('{}');
    }
  }
  return { text: lines.join('\n') + '\n', problems };
}

export async function grpoRunStrategy(
  session: Session, meta: DatasetMeta, records: readonly DatasetRecord[], config: TrainConfig, s: GrpoRunSettings, load: RewardSandboxLoader,
): Promise<TrainStrategy> {
  if (config.gradAccum > 1) throw new Error('GRPO runs one micro-batch per step; set gradient accumulation to 1');
  if (config.method === 'full' && s.options.beta > 0) throw new Error('GRPO with full fine-tuning has no reference model here; set β to 0');
  const { text } = grpoPromptLines(records);
  const { strategy, prompts, problems } = await grpoJobStrategy(
    { method: 'grpo', options: s.options, reward: s.reward, data: { name: meta.name, text } },
    session.requireTokenizer(), (name, source) => load(name, source, s.timeoutMs),
    { batch: config.batch, padId: session.padTokenId(), stopTokens: session.stopTokens },
  );
  if (prompts === 0) {
    const first = problems[0];
    const where = first ? records[first.source.line - 1]?.source : undefined;
    throw new Error(`dataset ${meta.name} has no GRPO prompts${first ? ` (line ${where?.line ?? first.source.line}: ${first.reason})` : ''}`);
  }
  return strategy;
}
