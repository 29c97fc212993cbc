/** WebGPU availability: the adapter the Worker got, or why there is none and how to enable it. */
import type { GpuInfo } from '../../worker/api.ts';
import { api, errorMessage } from '../worker-client.ts';

export const NO_WEBGPU =
  'This browser does not offer WebGPU (navigator.gpu is missing). Use a recent Chrome or Edge (113 or later), Safari 26 or later, ' +
  'or Firefox 141 or later on Windows. On Linux, start Chrome with --enable-unsafe-webgpu (or turn on chrome://flags/#enable-unsafe-webgpu); ' +
  'elsewhere check that hardware acceleration is on in the browser settings. Datasets can still be imported and inspected here.';

class GpuStore {
  info = $state.raw<GpuInfo | null>(null);
  error = $state<string | null>(null);
  status = $state<'checking' | 'ready' | 'unavailable'>('checking');

  async init(): Promise<void> {
    this.status = 'checking';
    if (!('gpu' in navigator) || !navigator.gpu) {
      this.error = NO_WEBGPU;
      this.status = 'unavailable';
      return;
    }
    try {
      this.info = await api.init();
      this.error = null;
      this.status = 'ready';
    } catch (e) {
      this.error = errorMessage(e);
      this.status = 'unavailable';
    }
  }

  get ready(): boolean {
    return this.status === 'ready';
  }
}

export const gpu = new GpuStore();
