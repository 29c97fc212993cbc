import type { BaseQuant } from '../core/model/base-quant.ts';
import type { ModelConfig } from '../core/model/config.ts';
import { hasShaderF16 } from '../core/gpu/features.ts';
import { targetedShapes } from '../core/model/lora-targets.ts';
import type { Gpu } from '../core/gpu/gpu.ts';
import { planMemory, type MemoryPlan } from '../core/model/memory-plan.ts';
import type { PrecisionChoice } from '../core/model/precision.ts';
import type { TrainConfig } from '../core/train/config.ts';
import { trainedBytes } from '../core/train/trained-count.ts';
import type { Output } from './output.ts';

export const FIT_FLAGS = [
  {
    name: 'fit', kind: 'boolean',
    help: 'choose batch, accumulation, sequence length, recomputation, base quantisation and (with --precision auto) f16 to fit the GPU; prints why',
  },
  {
    name: 'gpu-memory', kind: 'int', value: 'MIB', default: 4096, min: 64,
    help: 'memory budget for --fit (WebGPU does not tell a program how much memory the GPU has)',
  },
] as const;

type Tokens = { readonly inputIds: readonly number[]; readonly labels: readonly number[] };
type Split<E> = { train: E[]; validation: E[] };

/**
 * `tabtune train --fit`: plans the run against the device's limits and a budget, prints the plan
 * and returns the settings that use it (config, quantisation, rows cut to the planned length).
 */
export function fitRun<E extends Tokens>(
  out: Output, cfg: ModelConfig, config: TrainConfig, split: Split<E>,
  o: { budgetMiB: number; gpu: Gpu; maxSeqLen: number; quant: BaseQuant | null; precision: string },
): { plan: MemoryPlan; config: TrainConfig; split: Split<E> } {
  const plan = planMemory({
    cfg, method: config.method, r: config.lora.r, loraDropout: config.lora.dropout, validation: split.validation.length > 0,
    loraModules: targetedShapes(cfg, config.lora.targets),
    lengths: [...split.train, ...split.validation].map((e) => e.inputIds.length),
    maxSeqLen: o.maxSeqLen, batch: config.batch, budget: o.budgetMiB * 2 ** 20, limits: o.gpu.limits,
    ...(o.quant && { quants: [o.quant] }), precision: o.precision as PrecisionChoice, shaderF16: hasShaderF16(o.gpu),
    trainedBytes: trainedBytes(cfg, config),
  });
  out.record({ fit: { ...plan, parts: undefined } });
  for (const line of plan.reasons) out.say(`fit: ${line}`);
  const cut = (e: E): E => (e.inputIds.length <= plan.seq ? e : { ...e, inputIds: e.inputIds.slice(0, plan.seq), labels: e.labels.slice(0, plan.seq) });
  return {
    plan,
    config: {
      ...config, batch: plan.batch, gradAccum: plan.gradAccum * config.gradAccum,
      gradCheckpointing: config.gradCheckpointing || plan.gradCheckpointing,
    },
    split: { train: split.train.map(cut), validation: split.validation.map(cut) },
  };
}
