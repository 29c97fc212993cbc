/**
 * GRPO reward functions as the core sees them: named scorers of (prompt, completion, fields),
 * run by the host in a sandbox with a time limit (node:vm in the CLI, a Worker in the app). The
 * core checks what comes back: every score must be a finite number.
 */

/** One completion to score, with its prompt's text and the dataset record's other fields (TRL passes them as kwargs). */
export interface RewardInput {
  readonly prompt: string;
  readonly completion: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A score, or why the function gave none (threw, timed out, returned something else). */
export type RewardOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string };

export interface RewardFunctions {
  /** Where the functions come from (a file name); messages name it first. */
  readonly source: string;
  readonly names: readonly string[];
  /** Runs function `name` on one input. */
  call(name: string, input: RewardInput): Promise<RewardOutcome>;
}

/** A reward function that failed: the run stops with this one line. */
export class RewardError extends Error {}

/**
 * Scores of every input under every function ([function][input]), and their sum per input (TRL
 * sums its reward functions with weight 1).
 */
export async function scoreCompletions(fns: RewardFunctions, inputs: readonly RewardInput[]): Promise<{ perFunction: number[][]; total: number[] }> {
  const perFunction: number[][] = [];
  for (const name of fns.names) {
    const scores: number[] = [];
    for (const [i, input] of inputs.entries()) {
      const r = await fns.call(name, input);
      const where = `reward function ${name} on completion ${i + 1} (${JSON.stringify(input.completion.slice(0, 40))})`;
      if (!r.ok) throw new RewardError(`${where} ${r.reason}`);
      if (typeof r.value !== 'number') throw new RewardError(`${where} returned ${describe(r.value)}, not a number`);
      if (!Number.isFinite(r.value)) throw new RewardError(`${where} returned ${r.value}; a reward must be a finite number`);
      scores.push(r.value);
    }
    perFunction.push(scores);
  }
  const total = inputs.map((_, i) => perFunction.reduce((s, f) => s + f[i]!, 0));
  return { perFunction, total };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.slice(0, 40))}`;
  return typeof v === 'undefined' ? 'nothing' : `a ${typeof v}`;
}
