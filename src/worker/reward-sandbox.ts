/**
 * Reward functions run in a dedicated Worker (reward-worker.ts) with a time limit per call: a
 * call that runs over it terminates that Worker, which is started again with the same source
 * for the next call. The client speaks the core's RewardFunctions, so GRPO's scoring is the
 * CLI's (pipeline/grpo-strategy.ts); only where the code runs differs.
 */
import type { RewardFunctions, RewardInput, RewardOutcome } from '../core/train/preference/reward.ts';
import type { RewardReply, RewardRequest } from './reward-protocol.ts';

type Reply = { names: readonly string[] } | { value: number } | { reason: string } | { timedOut: true };

export class RewardSandbox {
  /** The Worker, and its start: null once it listens, or why it did not start. */
  private worker: { readonly w: Worker; readonly ready: Promise<string | null> } | null = null;
  private nextId = 1;
  private pending = new Map<number, (r: Reply) => void>();
  private loaded: { name: string; source: string } | null = null;
  /** Workers terminated for running over the limit (the app shows it; tests check it). */
  restarts = 0;

  constructor(private readonly spawn: () => Worker, readonly timeoutMs: number) {}

  /** Loads the source in a fresh Worker; a file that does not load is an Error naming it. */
  async load(name: string, source: string): Promise<RewardFunctions> {
    this.dispose();
    const r = await this.request({ type: 'load', name, source });
    if ('timedOut' in r) throw new Error(`${name}: loading it ran over the ${this.timeoutMs} ms limit (the reward Worker was stopped)`);
    if ('reason' in r) throw new Error(`${name}: ${r.reason}`);
    if (!('names' in r)) throw new Error(`${name}: the reward Worker answered out of turn`);
    this.loaded = { name, source };
    return { source: name, names: r.names, call: (fn, input) => this.call(fn, input) };
  }

  private async call(name: string, input: RewardInput): Promise<RewardOutcome> {
    if (!this.worker && this.loaded) await this.reload(this.loaded);
    const r = await this.request({
      type: 'call', name, prompt: input.prompt, completion: input.completion, fields: JSON.stringify(input.fields),
    });
    if ('timedOut' in r) return { ok: false, reason: `ran over the ${this.timeoutMs} ms limit (the reward Worker was stopped and restarted)` };
    if ('value' in r) return { ok: true, value: r.value };
    return { ok: false, reason: 'reason' in r ? r.reason : 'answered out of turn' };
  }

  /** A fresh Worker after a timeout, with the same functions. */
  private async reload(l: { name: string; source: string }): Promise<void> {
    const r = await this.request({ type: 'load', name: l.name, source: l.source });
    if (!('names' in r)) throw new Error(`${l.name}: the reward Worker did not start again`);
  }

  private async request(m: DistributiveOmit<RewardRequest, 'id'>): Promise<Reply> {
    const worker = this.worker ?? this.start();
    // Starting a Worker takes a while on a busy machine; the limit is for the user's code only.
    const failed = await worker.ready;
    if (failed !== null) return { reason: failed };
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        // The only way to stop a synchronous endless loop: end the Worker running it.
        this.terminate();
        this.restarts++;
        resolve({ timedOut: true });
      }, this.timeoutMs);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      worker.w.postMessage({ ...m, id } as RewardRequest);
    });
  }

  private start(): { readonly w: Worker; readonly ready: Promise<string | null> } {
    const w = this.spawn();
    let ready!: (failed: string | null) => void;
    const started = new Promise<string | null>((resolve) => (ready = resolve));
    w.addEventListener('message', (e: MessageEvent<RewardReply>) => {
      if ('ready' in e.data) return ready(null);
      const { id, ...rest } = e.data;
      const done = this.pending.get(id);
      this.pending.delete(id);
      done?.(rest as Reply);
    });
    w.addEventListener('error', (e) => {
      e.preventDefault();
      const reason = `stopped the reward Worker (${e.message || 'an error'})`;
      for (const done of this.pending.values()) done({ reason });
      this.pending.clear();
      this.terminate();
      ready(reason);
    });
    this.worker = { w, ready: started };
    return this.worker;
  }

  private terminate(): void {
    this.worker?.w.terminate();
    this.worker = null;
  }

  /** Ends the Worker and forgets the source. */
  dispose(): void {
    this.terminate();
    for (const done of this.pending.values()) done({ reason: 'was stopped (the sandbox closed)' });
    this.pending.clear();
    this.loaded = null;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The app's reward Worker (a module Worker built from reward-worker.ts). */
export const spawnRewardWorker = (): Worker => new Worker(new URL('./reward-worker.ts', import.meta.url), { type: 'module', name: 'reward sandbox' });
