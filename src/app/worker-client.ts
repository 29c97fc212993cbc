/** The one training Worker and its typed comlink proxy. Every GPU call goes through `api`. */
import * as Comlink from 'comlink';
import type { WorkerApi } from '../worker/api.ts';

export const worker = new Worker(new URL('../worker/worker.ts', import.meta.url), { type: 'module' });
export const api = Comlink.wrap<WorkerApi>(worker);

/** Wraps a callback for the Worker (comlink needs it proxied). */
export const callback = <T extends (...args: never[]) => unknown>(fn: T) => Comlink.proxy(fn);

/** Hands bytes to the Worker without copying them. */
export const moved = <T extends Uint8Array>(bytes: T): T => Comlink.transfer(bytes, [bytes.buffer as ArrayBuffer]);

/** The message of anything thrown across the Worker boundary. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}
