import { ApiError } from '../../core/serve/openai-request.ts';

/**
 * Generation slots with a bounded waiting line: a request beyond `concurrency + queue` is
 * answered 429 at once; a waiting request whose client goes away leaves the line.
 */
export class Slots {
  private running = 0;
  private readonly waiting: { grant: () => void; fail: (e: Error) => void }[] = [];

  constructor(
    readonly concurrency: number,
    readonly queue: number,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function once a slot is free. */
  acquire(signal: AbortSignal): Promise<() => void> {
    const release = (): void => {
      this.running--;
      const next = this.waiting.shift();
      if (next) next.grant();
    };
    let released = false;
    const once = (): void => {
      if (!released) {
        released = true;
        release();
      }
    };
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve(once);
    }
    if (this.waiting.length >= this.queue) {
      return Promise.reject(new ApiError(429, `the server is busy (${this.running} running, ${this.waiting.length} waiting); retry later`, null,
        'queue_full'));
    }
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          signal.removeEventListener('abort', leave);
          this.running++;
          resolve(once);
        },
        fail: reject,
      };
      const leave = (): void => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new ApiError(499, 'the client closed the connection'));
      };
      signal.addEventListener('abort', leave, { once: true });
      this.waiting.push(entry);
    });
  }
}
