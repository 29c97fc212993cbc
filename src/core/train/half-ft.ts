import type { StepState } from '../kernels/step-state.ts';
import type { ModelConfig } from '../model/config.ts';
import { Rng } from '../rng.ts';
import { StepPlan } from '../model/step-plan.ts';
import type { Transformer } from '../model/transformer.ts';

/** Half fine-tuning: every `roundSteps` optimizer steps, the trained half of the decoder changes. */
export interface HalfFtOptions {
  readonly roundSteps: number;
}

/** The per-layer tensors that are split in halves, each type on its own. */
const TYPES = ['qkv', 'o', 'up', 'down', 'ln1', 'ln2'] as const;

/**
 * The trained set of round k (Half Fine-Tuning, Hui et al. 2024): per module type, a seeded random
 * half of the layers trains fully and the other half is frozen; rounds come in pairs, the second
 * training the complement of the first, so every weight trains every other round. Embeddings, the
 * head and the final norm stay frozen.
 */
export function halfFtScale(cfg: ModelConfig, seed: number, round: number): (name: string) => number {
  const pair = Math.floor(round / 2);
  const trained = new Map<string, Set<number>>();
  TYPES.forEach((type, i) => {
    const layers = Array.from({ length: cfg.layers }, (_, l) => l);
    new Rng(seed * 1000003 + pair * 7919 + i * 104729 + 1).shuffle(layers);
    const half = Math.floor(cfg.layers / 2) + (cfg.layers % 2 && pair % 2 ? 1 : 0);
    const first = new Set(layers.slice(0, half));
    trained.set(type, round % 2 === 0 ? first : new Set(layers.filter((l) => !first.has(l))));
  });
  return (name) => {
    const m = /^layers\.(\d+)\.(qkv|o|up|down|ln1|ln2)\./.exec(name);
    return m && trained.get(m[2]!)!.has(Number(m[1])) ? 1 : 0;
  };
}

/** Regroups the optimizer when a step starts a new round (also on resume, mid-round). */
export class HalfFtRounds {
  private round = 0;

  constructor(private readonly cfg: ModelConfig, private readonly seed: number, readonly o: HalfFtOptions) {
    if (!Number.isInteger(o.roundSteps) || o.roundSteps < 1) throw new RangeError(`half-ft round must be a positive number of steps, got ${o.roundSteps}`);
    if (cfg.layers < 2) throw new RangeError('half fine-tuning needs a model of at least 2 layers');
  }

  scale(round: number): (name: string) => number {
    return halfFtScale(this.cfg, this.seed, round);
  }

  /** Whether a new round started (the step plan is then rebuilt for its half: `trains`). */
  async before(step: number, opt: { regroup(state: StepState, scale: (name: string) => number): Promise<void> }, state: StepState): Promise<boolean> {
    const round = Math.floor(step / this.o.roundSteps);
    if (round === this.round) return false;
    this.round = round;
    await opt.regroup(state, this.scale(round));
    return true;
  }

  /** The weights the current round trains. */
  trains(): (name: string) => boolean {
    const scale = this.scale(this.round);
    return (name) => scale(name) > 0;
  }
}

/** A new round's step plan: weight-gradient work for its trained half only. */
export async function replanRound(plan: StepPlan, model: Transformer, trains: (name: string) => boolean): Promise<StepPlan> {
  model.limitWeightGrads(trains);
  const next = await StepPlan.build(model, plan.opts, plan.step);
  plan.destroy();
  return next;
}
