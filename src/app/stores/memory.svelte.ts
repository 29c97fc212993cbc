/** The Worker's GPU memory estimate for the current model and training settings. */
import type { MemoryEstimate, MemoryRequest } from '../../worker/api.ts';
import { api, errorMessage } from '../worker-client.ts';

class MemoryStore {
  estimate = $state.raw<MemoryEstimate | null>(null);
  error = $state<string | null>(null);
  pending = $state(false);
  private key = '';
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** Asks again (debounced) when the request changed. */
  request(req: MemoryRequest | null): void {
    const key = JSON.stringify(req);
    if (key === this.key) return;
    this.key = key;
    clearTimeout(this.timer);
    if (!req) {
      this.estimate = null;
      this.error = null;
      return;
    }
    this.pending = true;
    this.timer = setTimeout(async () => {
      try {
        const e = await api.estimateMemory(req);
        if (this.key === key) {
          this.estimate = e;
          this.error = null;
        }
      } catch (err) {
        if (this.key === key) {
          this.estimate = null;
          this.error = errorMessage(err);
        }
      } finally {
        if (this.key === key) this.pending = false;
      }
    }, 200);
  }

  forget(): void {
    this.key = '';
  }
}

export const memory = new MemoryStore();
