/** WebGPU availability: the adapter the Worker got, or why there is none and how to enable it. */
import type { GpuInfo } from '../../worker/api.ts';
import { api, errorMessage } from '../worker-client.ts';

export const NO_WEBGPU =
  'This browser does not offer WebGPU (navigator.gpu is missing). Use a recent Chrome or Edge (113 or later), Safari 26 or later, ' +
  'or Firefox 141 or later on Windows. On Linux, start Chrome with --enable-unsafe-webgpu (or turn on chrome://flags/#enable-unsafe-webgpu); ' +
  'elsewhere check that hardware acceleration is on in the browser settings. Datasets can still be imported and inspected here.';

/** What the GPU check waits for, in the order it happens. */
export const GPU_STAGES = {
  worker: 'starting the training worker',
  adapter: 'asking the browser for its GPU (WebGPU)',
} as const;

/** After this long a stage says that a software GPU's first start can be slow. */
const SLOW_MS = 8000;

class GpuStore {
  info = $state.raw<GpuInfo | null>(null);
  error = $state<string | null>(null);
  status = $state<'checking' | 'ready' | 'unavailable'>('checking');
  stage = $state<keyof typeof GPU_STAGES>('worker');
  /** Seconds spent in the current stage (updated every second while checking). */
  waited = $state(0);

  /** "Checking the GPU: starting the training worker… 3 s". */
  get checkingText(): string {
    return `Checking the GPU: ${GPU_STAGES[this.stage]}… ${this.waited} s`;
  }

  /** True once a stage has taken long enough to say why it may. */
  get slow(): boolean {
    return this.waited * 1000 >= SLOW_MS;
  }

  private enter(stage: keyof typeof GPU_STAGES): void {
    this.stage = stage;
    this.waited = 0;
  }

  async init(): Promise<void> {
    this.status = 'checking';
    if (!('gpu' in navigator) || !navigator.gpu) {
      this.error = NO_WEBGPU;
      this.status = 'unavailable';
      return;
    }
    const timer = setInterval(() => this.waited++, 1000);
    try {
      this.enter('worker');
      // Any call answers once the Worker's code has loaded; this one touches no GPU.
      await api.activeRunId();
      this.enter('adapter');
      this.info = await api.init();
      this.error = null;
      this.status = 'ready';
    } catch (e) {
      this.error = errorMessage(e);
      this.status = 'unavailable';
    } finally {
      clearInterval(timer);
    }
  }

  get ready(): boolean {
    return this.status === 'ready';
  }
}

export const gpu = new GpuStore();
