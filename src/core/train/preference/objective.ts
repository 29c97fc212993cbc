/**
 * The preference step: forward every micro-batch and read each row's sequence log-prob, form the
 * method's loss on the host, then run the backward with each row's tokens weighted by −dL/dlogp
 * (the plan's token weights scale the cross-entropy gradient, whose loss scale is 1). With one
 * micro-batch the backward reuses the forward's activations; with gradient accumulation each
 * micro-batch's forward is replayed before its backward (the loss needs every row of the step).
 */
import type { Gpu } from '../../gpu/gpu.ts';
import { Slot, type StepState } from '../../kernels/step-state.ts';
import type { Batch, StepPlan } from '../../model/step-plan.ts';
import type { AdamW } from '../adamw.ts';
import type { StepObjective } from '../objective.ts';
import type { StepResult } from '../step.ts';
import { ktoLoss, pairedLoss, type PreferenceLoss, type RowLogps } from './losses.ts';
import { rowsPerExample, type PreferenceOptions } from './method.ts';
import { rowLogps, type SequenceLogp } from './sequence-logps.ts';

/** A training row's part in its example, and its reference log-prob (0 when the method has none). */
export interface PreferenceRowInfo {
  readonly role: 'chosen' | 'rejected' | 'desirable' | 'undesirable';
  readonly ref: number;
}

/** The loss of a step's rows (given in step order) and dL/dlogp for each of them. */
export function stepLoss(o: PreferenceOptions, infos: readonly PreferenceRowInfo[], logps: readonly SequenceLogp[]): PreferenceLoss {
  const rows: RowLogps[] = logps.map((l, i) => ({ logp: l.logp, tokens: l.tokens, ref: infos[i]!.ref }));
  if (o.method === 'kto') return ktoLoss(o, rows, infos.map((r) => r.role === 'desirable'));
  const chosen: number[] = [];
  const rejected: number[] = [];
  infos.forEach((r, i) => (r.role === 'chosen' ? chosen : rejected).push(i));
  const res = pairedLoss(o, chosen.map((i) => rows[i]!), rejected.map((i) => rows[i]!));
  const grad = new Float64Array(rows.length);
  chosen.forEach((i, k) => (grad[i] = res.grad[k]!));
  rejected.forEach((i, k) => (grad[i] = res.grad[chosen.length + k]!));
  return { ...res, grad };
}

export function preferenceObjective(o: PreferenceOptions, infos: readonly PreferenceRowInfo[]): StepObjective {
  const k = rowsPerExample(o.method);
  if (infos.length % k !== 0) throw new Error(`${o.method} rows come in groups of ${k}; got ${infos.length}`);
  return {
    rowsPerExample: k,
    run(gpu: Gpu, plan: StepPlan, opt: AdamW, step: StepState, micro: readonly Batch[], rows: readonly number[], lr: number, seed: number) {
      if (!plan.tokenWeights || !plan.backward) throw new Error('a preference step needs a training plan with token weights');
      const encoded = micro.map((b) => plan.encode(b));
      const targets = encoded.reduce((n, e) => n + e.targets, 0);
      const B = plan.opts.batch;
      const S = plan.opts.seq;
      const done = step.serial(async (): Promise<StepResult> => {
        const readback = await step.readback();
        step.begin({ lr, ...opt.nextCorrections(), lossScale: 1, seed });
        const logps: SequenceLogp[] = [];
        for (const [i, e] of encoded.entries()) {
          plan.write(e.data);
          gpu.run(plan.forward);
          const tokenLoss = await gpu.readF32(plan.rowLoss.buffer, plan.rowLoss.offset * 4, plan.T);
          logps.push(...rowLogps(tokenLoss, micro[i]!.labels, S).slice(0, Math.min(B, rows.length - i * B)));
        }
        const res = stepLoss(o, rows.map((r) => infos[r]!), logps);
        const replay = encoded.length > 1;
        encoded.forEach((e, i) => {
          const w = new Float32Array(plan.T);
          for (let b = 0; b < B && i * B + b < rows.length; b++) w.fill(-res.grad[i * B + b]!, b * S, (b + 1) * S);
          gpu.write(plan.tokenWeights!.buffer, w, plan.tokenWeights!.offset * 4);
          const programs = replay ? [plan.forward, plan.backward!] : [plan.backward!];
          if (i === 0) programs.unshift(opt.zeroGrads);
          if (replay) plan.write(e.data);
          if (i === encoded.length - 1) programs.push(opt.program, readback.program);
          gpu.run(...programs);
        });
        opt.t++;
        const v = await readback.read();
        return { loss: res.loss, gradNorm: Math.sqrt(v[Slot.gradNormSq]!), targets, metrics: res.metrics };
      });
      return { targets, done };
    },
  };
}
