import * as Comlink from 'comlink';
import type { Gpu } from '../core/gpu/gpu.ts';
import { kernelSelfTest } from '../core/selftest/kernels.ts';
import { acquireBrowserGpu } from '../platform/browser-gpu.ts';
import type { WorkerApi } from './api.ts';

let gpu: Gpu | null = null;

async function requireGpu(): Promise<Gpu> {
  gpu ??= await acquireBrowserGpu();
  return gpu;
}

const api: WorkerApi = {
  async init() {
    const g = await requireGpu();
    const limits: Record<string, number> = {};
    for (const key in g.limits) {
      const v = (g.limits as unknown as Record<string, unknown>)[key];
      if (typeof v === 'number') limits[key] = v;
    }
    return { adapter: g.adapter, limits, features: [...g.features] };
  },
  async selfTest() {
    return kernelSelfTest(await requireGpu());
  },
};

Comlink.expose(api);
