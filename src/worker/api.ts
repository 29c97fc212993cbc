import type { AdapterSummary } from '../core/gpu/gpu.ts';
import type { SelfTestResult } from '../core/selftest/kernels.ts';

/** What the UI may call on the training Worker (through comlink). */
export interface WorkerApi {
  /** Acquires WebGPU; rejects with a message that says how to enable it. */
  init(): Promise<{ adapter: AdapterSummary; limits: Record<string, number>; features: string[] }>;
  selfTest(): Promise<SelfTestResult[]>;
}
