/**
 * The GRPO step (TRL GRPOTrainer, one update per generation batch): for each prompt of the step,
 * G completions sampled from the current policy with the KV-cached generator, scored by the
 * user's reward functions, group-normalised into advantages; then one forward of prompt +
 * completion rows gives each completion token's log-prob (the old policy's too: with one update
 * per batch π_old = π, as TRL), the reference forward (adapter off) gives the KL term's, and the
 * backward weights each token's cross-entropy gradient by −dL/dlogp from grpo-loss.ts.
 */
import type { Gpu } from '../../gpu/gpu.ts';
import { shiftTargets, IGNORE_TARGET } from '../../kernels/cross-entropy.ts';
import { Slot, type StepState } from '../../kernels/step-state.ts';
import { Generator } from '../../model/generate.ts';
import type { Batch, StepPlan } from '../../model/step-plan.ts';
import type { Transformer } from '../../model/transformer.ts';
import type { Row } from '../../data/rows.ts';
import type { AdamW } from '../adamw.ts';
import type { StepObjective } from '../objective.ts';
import type { StepResult } from '../step.ts';
import { groupAdvantages, grpoLoss, type CompletionLogps, type GrpoOptions } from './grpo-loss.ts';
import { scoreCompletions, type RewardFunctions } from './reward.ts';
import { forwardPlan } from './sequence-logps.ts';

/** A prompt to complete: its token ids (chat template applied), its text for the rewards, the record's other fields. */
export interface GrpoPrompt {
  readonly ids: readonly number[];
  readonly text: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface GrpoSetup {
  readonly model: Transformer;
  readonly options: GrpoOptions;
  readonly prompts: readonly GrpoPrompt[];
  readonly rewards: RewardFunctions;
  /** Completion ids → text (special tokens skipped), for the rewards. */
  readonly decode: (ids: readonly number[]) => string;
  /** Ids that end a completion (the model's EOS and end-of-turn); the stop token is trained. */
  readonly stopTokens: readonly number[];
  /** Prompts per step (the trainer's batch); the plan holds batch·G rows. */
  readonly batch: number;
  readonly padId: number;
  /** Called with each step's completions and rewards (for logs). */
  readonly onSamples?: (samples: readonly { prompt: string; completion: string; reward: number }[]) => void;
}

export interface Grpo {
  readonly objective: StepObjective;
  /** The trainer's rows: G copies of each prompt (prompt-only), so a step's rows name its prompts. */
  readonly rows: Row[];
  readonly seq: number;
  destroy(): void;
}

/** The trainer's rows: G prompt-only copies of each prompt, `seq` = the longest prompt + the longest completion. */
export function grpoRows(prompts: readonly GrpoPrompt[], o: GrpoOptions, padId: number): { rows: Row[]; seq: number } {
  if (prompts.length === 0) throw new Error('GRPO needs at least one prompt');
  const seq = Math.max(...prompts.map((p) => p.ids.length)) + o.maxCompletionLength;
  const rows: Row[] = prompts.flatMap((p) =>
    Array.from({ length: o.generations }, () => ({ inputIds: padTo(p.ids, seq, padId), labels: new Array<number>(seq).fill(-100), tokens: p.ids.length })),
  );
  return { rows, seq };
}

export async function grpoObjective(s: GrpoSetup): Promise<Grpo> {
  const { options: o, model } = s;
  const G = o.generations;
  const { rows, seq } = grpoRows(s.prompts, o, s.padId);
  const generator = new Generator(model);
  const ref = o.beta > 0 ? await forwardPlan(model, s.batch * G, seq, true) : null;
  let failure: Error | null = null;
  const objective: StepObjective = {
    rowsPerExample: G,
    run(gpu: Gpu, plan: StepPlan, opt: AdamW, step: StepState, micro: readonly Batch[], indices: readonly number[], lr: number, seed: number) {
      if (!plan.tokenWeights || !plan.backward) throw new Error('a GRPO step needs a training plan with token weights');
      if (micro.length !== 1) throw new Error('GRPO runs one micro-batch per step (gradient accumulation is not supported)');
      const prompts = indices.filter((_, i) => i % G === 0).map((r) => s.prompts[Math.floor(r / G)]!);
      const B = plan.opts.batch;
      const S = plan.opts.seq;
      const done = step.serial(async (): Promise<StepResult> => {
        // The trainer queues the next step before it reads this one's result: after a failure
        // (a reward function that threw) the queued step does nothing and fails the same way.
        if (failure) throw failure;
        // Sample G completions per prompt from the policy as it is now.
        const samples: { prompt: GrpoPrompt; ids: number[] }[] = [];
        for (const [p, prompt] of prompts.entries()) {
          for (let g = 0; g < G; g++) {
            const gen = await generator.generate(prompt.ids, {
              maxNewTokens: o.maxCompletionLength, temperature: o.temperature, stopTokens: s.stopTokens, ignoreEos: true,
              seed: (seed * 31 + p * G + g) >>> 0,
            });
            samples.push({ prompt, ids: gen.ids });
          }
        }
        const inputs = samples.map((x) => ({
          prompt: x.prompt.text, completion: s.decode(x.ids.filter((id) => !s.stopTokens.includes(id))), fields: x.prompt.fields,
        }));
        const scored = await scoreCompletions(s.rewards, inputs);
        const adv = groupAdvantages(scored.total, G);
        s.onSamples?.(inputs.map((x, i) => ({ prompt: x.prompt, completion: x.completion, reward: scored.total[i]! })));

        const ids = new Int32Array(B * S).fill(s.padId);
        const labels = new Int32Array(B * S).fill(-100);
        samples.forEach((x, b) => {
          ids.set([...x.prompt.ids, ...x.ids], b * S);
          labels.set(x.ids, b * S + x.prompt.ids.length);
        });
        const batch: Batch = { ids, labels, lengths: samples.map((x) => x.prompt.ids.length + x.ids.length) };
        const target = shiftTargets(labels, S);
        // Loss index t predicts position t + 1: each completion's tokens are a run of valid targets.
        const positions = samples.map((_, b) => {
          const at: number[] = [];
          for (let t = b * S; t < (b + 1) * S; t++) if (target[t] !== IGNORE_TARGET) at.push(t);
          return at;
        });
        const readLogps = async (p: StepPlan) => {
          p.write(p.encode(batch).data);
          gpu.run(p.forward);
          const loss = await gpu.readF32(p.rowLoss.buffer, p.rowLoss.offset * 4, p.T);
          return positions.map((at) => at.map((t) => -loss[t]!));
        };
        const refLogps = ref ? await readLogps(ref.plan) : positions.map(() => []);
        const readback = await step.readback();
        step.begin({ lr, ...opt.nextCorrections(), lossScale: 1, seed });
        const logps = await readLogps(plan);
        const completions: CompletionLogps[] = logps.map((l, i) => ({ logp: l, old: l, ref: refLogps[i]!, advantage: adv.advantages[i]! }));
        const res = grpoLoss(o, completions);
        const w = new Float32Array(plan.T);
        positions.forEach((at, i) => at.forEach((t, k) => (w[t] = -res.grad[i]![k]!)));
        gpu.write(plan.tokenWeights!.buffer, w, plan.tokenWeights!.offset * 4);
        gpu.run(opt.zeroGrads, plan.backward!, opt.program, readback.program);
        opt.t++;
        const v = await readback.read();
        const metrics: Record<string, number> = {
          reward: mean(scored.total), reward_std: adv.rewardStd, 'completions/mean_length': mean(samples.map((x) => x.ids.length)),
          frac_reward_zero_std: adv.zeroStdGroups / prompts.length, clip_ratio: res.clipRatio,
          ...(o.beta > 0 && { kl: res.kl }),
        };
        s.rewards.names.forEach((name, f) => {
          metrics[`rewards/${name}/mean`] = mean(scored.perFunction[f]!);
          metrics[`rewards/${name}/std`] = std(scored.perFunction[f]!);
        });
        return { loss: res.loss, gradNorm: Math.sqrt(v[Slot.gradNormSq]!), targets: positions.reduce((n, at) => n + at.length, 0), metrics };
      });
      // Handled here too: a queued step's failure is read by the trainer, or by no one once the run stopped.
      done.catch((e: Error) => (failure ??= e));
      return { targets: 0, done };
    },
  };
  return {
    objective, rows, seq,
    destroy() {
      generator.destroy();
      ref?.plan.destroy();
      ref?.state.destroy();
    },
  };
}

function padTo(ids: readonly number[], n: number, pad: number): number[] {
  return [...ids, ...new Array<number>(n - ids.length).fill(pad)];
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const std = (xs: readonly number[]) => {
  const m = mean(xs);
  return xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)) : 0;
};
