import { hasShaderF16 } from '../gpu/features.ts';
import { targetedShapes } from '../model/lora-targets.ts';
import { planMemory, type MemoryPlan } from '../model/memory-plan.ts';
import { trainedBytes } from '../train/trained-count.ts';
import type { FitToGpuRequest } from './api.ts';
import type { DatasetLibrary } from './datasets.ts';
import type { ModelHost } from './model-host.ts';
import type { TokenizedDatasets } from './tokenized-datasets.ts';

/**
 * Plans batch, accumulation, row length, recomputation, base quantisation and precision for the loaded model
 * and the dataset's token lengths (its options' maxLength caps rows), against this GPU's limits.
 * The app applies the plan to its run settings and shows `reasons`.
 */
export async function fitToGpu(host: ModelHost, datasets: DatasetLibrary, tokenized: TokenizedDatasets, req: FitToGpuRequest): Promise<MemoryPlan> {
  const s = await host.requireModel();
  const gpu = await host.requireGpu();
  const cfg = s.requireModel().cfg;
  const meta = await datasets.get(req.datasetId);
  const data = await tokenized.data(meta);
  return planMemory({
    cfg, method: req.method, r: req.r, loraDropout: req.loraDropout, validation: data.split.validation.length > 0,
    loraModules: targetedShapes(cfg, req.targets),
    lengths: data.examples.map((e) => e.inputIds.length), maxSeqLen: meta.options.maxLength, batch: req.batch,
    budget: req.budgetMiB * 2 ** 20, limits: gpu.limits, precision: req.precision ?? 'f32', shaderF16: hasShaderF16(gpu),
    trainedBytes: trainedBytes(cfg, req),
  });
}
