import { openGpu, type Gpu } from '../core/gpu/gpu.ts';
import { enableMatmulAutotune } from '../core/kernels/matmul-tune.ts';
import { idbMatmulCache } from './idb-matmul-cache.ts';

export class NoWebGpuError extends Error {
  constructor(reason: string) {
    super(
      `${reason}. tabtune needs WebGPU: use a recent Chrome, Edge or Chromium (113+) with hardware acceleration on; ` +
        'on Linux start it with --enable-unsafe-webgpu (or enable chrome://flags/#enable-unsafe-webgpu); ' +
        'in Firefox 141+ or Safari 26+ WebGPU is on by default.',
    );
    this.name = 'NoWebGpuError';
  }
}

/** Acquires the browser's WebGPU device (in the Worker or on the page). */
export async function acquireBrowserGpu(): Promise<Gpu> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new NoWebGpuError('This browser does not expose navigator.gpu');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new NoWebGpuError('The browser found no WebGPU adapter');
  const opened = await openGpu(adapter, 'browser', { wgslFeatures: gpu.wgslLanguageFeatures });
  // CPU adapters keep the fixed table (measured best there); GPUs tune matmuls at first use.
  if (!opened.adapter.software) enableMatmulAutotune(opened, idbMatmulCache());
  return opened;
}
