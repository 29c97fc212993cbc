import { resolveTargets } from '../formats/peft.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { StepState } from '../kernels/step-state.ts';
import { Generator } from '../model/generate.ts';
import { baseQuantOf, type BaseQuant } from '../model/base-quant.ts';
import { LoraAdapter } from '../model/lora.ts';
import { targetedShapes } from '../model/lora-targets.ts';
import { estimateTrainingMemory } from '../model/memory.ts';
import type { Precision } from '../model/precision.ts';
import { Rng } from '../rng.ts';
import { StepPlan } from '../model/step-plan.ts';
import { fuses } from '../model/lora-fused.ts';
import type { Transformer } from '../model/transformer.ts';
import { AdamW } from '../train/adamw.ts';
import { runStep } from '../train/step.ts';
import { profileProgram } from './profile.ts';
import { stepMetrics } from './step-metrics.ts';

export interface TrainBench {
  readonly bench: 'train';
  readonly model: string;
  readonly batch: number;
  readonly seq: number;
  readonly method: 'lora';
  readonly r: number;
  readonly precision: 'f32' | 'f16';
  /** How the base's linear weights are held (base-quant.ts). */
  readonly quant: BaseQuant;
  readonly ms_per_step: number;
  readonly tokens_per_s: number;
  /** Ledger peak during training (weights included), and the estimate the app shows. */
  readonly peak_mib: number;
  readonly estimate_mib: number;
  /** Share of GPU time in matmul and attention kernels (profiled op by op). */
  readonly matmulAttentionShare: number | null;
  /** Dispatches recorded per optimizer step (one micro-batch), and bytes non-matmul kernels write. */
  readonly dispatches_per_step: number;
  readonly nonmatmul_bytes_per_step: number;
  /** LoRA and the MLP activation fused into the matmuls (`bench --fuse on|off`). */
  readonly fused: boolean;
  /** ln1/ln2 read through by their matmuls (`bench --norm-fuse on|off`). */
  readonly norm_fused: boolean;
  readonly adapter: string;
}

/**
 * Times LoRA training steps (r, all linear layers, AdamW, dropout 0) on random tokens: a warm-up
 * step, then `steps` timed steps; optionally profiles one step kernel by kernel.
 */
export async function benchTraining(
  gpu: Gpu, model: Transformer, name: string,
  o: { batch: number; seq: number; r?: number; steps?: number; profile?: boolean; precision?: 'f32' | 'f16' },
): Promise<TrainBench> {
  const r = o.r ?? 16;
  const targets = resolveTargets(model.cfg.arch, 'all-linear', { shape: model.cfg });
  model.lora = LoraAdapter.create(gpu, model.cfg, { r, alpha: 2 * r, dropout: 0, rslora: false, targets }, 1);
  model.setTrainable('lora');
  const before = gpu.ledger.total;
  gpu.ledger.resetPeak();
  const step = new StepState(gpu);
  const plan = await StepPlan.build(model, { batch: o.batch, seq: o.seq, train: true }, step);
  const opt = await AdamW.create(gpu, model.lora.store, model.grads!, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1 }, step, true);
  const rng = new Rng(3);
  const T = o.batch * o.seq;
  const batch = () => {
    const ids = Array.from({ length: T }, () => rng.int(model.cfg.vocabSize));
    return { ids, labels: ids };
  };
  try {
    await runStep(gpu, plan, opt, step, [batch()], 1e-4, 1).done;
    const steps = o.steps ?? 3;
    const t0 = performance.now();
    let last: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < steps; i++) last = runStep(gpu, plan, opt, step, [batch()], 1e-4, i).done;
    await last;
    const ms = (performance.now() - t0) / steps;
    let share: number | null = null;
    if (o.profile) {
      const kernels = [];
      for (const program of [plan.forward, plan.backward!, opt.program]) kernels.push(...(await profileProgram(gpu, program)));
      const total = kernels.reduce((a, k) => a + k.ms, 0);
      share = kernels.filter((k) => /^(matmul|attention)/.test(k.label)).reduce((a, k) => a + k.ms, 0) / total;
    }
    const modules = targetedShapes(model.cfg, targets);
    const shape = { method: 'lora', batch: o.batch, seq: o.seq, r, loraModules: modules } as const;
    const quant = baseQuantOf(model.weights.store);
    const options = {
      loraDropout: 0, gradCheckpointing: false, validation: false, quant, precision: model.weights.precision, normFused: model.normFuses(),
    };
    const estimate = Object.values(estimateTrainingMemory(model.cfg, { ...shape, ...options })).reduce((a, b) => a + b, 0);
    const counts = stepMetrics([opt.zeroGrads, plan.forward, plan.backward!, opt.program]);
    return {
      bench: 'train', model: name, batch: o.batch, seq: o.seq, method: 'lora', r, precision: model.weights.precision, quant,
      ms_per_step: ms, tokens_per_s: T / (ms / 1000),
      peak_mib: (gpu.ledger.peak - before + model.weights.store.buffers.reduce((a, b) => a + b.size, 0)) / 2 ** 20,
      estimate_mib: estimate / 2 ** 20, matmulAttentionShare: share,
      dispatches_per_step: counts.dispatches, nonmatmul_bytes_per_step: counts.nonmatmulBytes, fused: fuses(gpu),
      norm_fused: options.normFused,
      adapter: gpu.adapter.description,
    };
  } finally {
    opt.destroy();
    plan.destroy();
    step.destroy();
    model.setTrainable('none');
    model.lora?.destroy();
    model.lora = null;
  }
}

export interface GenerateBench {
  readonly bench: 'generate';
  readonly model: string;
  readonly promptTokens: number;
  readonly newTokens: number;
  readonly prefillTokensPerSecond: number;
  readonly decodeTokensPerSecond: number;
  readonly precision: Precision;
  readonly quant: BaseQuant;
  readonly adapter: string;
}

/** Prefill of a prompt and greedy decoding with the KV cache. */
export async function benchGeneration(model: Transformer, name: string, o: { prompt: number; newTokens: number }): Promise<GenerateBench> {
  const gen = new Generator(model);
  const rng = new Rng(5);
  const prompt = Array.from({ length: o.prompt }, () => rng.int(model.cfg.vocabSize));
  try {
    await gen.generate(prompt.slice(0, 8), { maxNewTokens: 2, greedy: true, ignoreEos: true });
    let first = 0;
    const t0 = performance.now();
    await gen.generate(prompt, { maxNewTokens: o.newTokens, greedy: true, ignoreEos: true, onToken: () => { if (!first) first = performance.now(); } });
    const end = performance.now();
    return {
      bench: 'generate', model: name, promptTokens: o.prompt, newTokens: o.newTokens,
      prefillTokensPerSecond: o.prompt / ((first - t0) / 1000), decodeTokensPerSecond: (o.newTokens - 1) / ((end - first) / 1000),
      precision: model.weights.precision, quant: baseQuantOf(model.weights.store), adapter: model.gpu.adapter.description,
    };
  } finally {
    gen.destroy();
  }
}
