import * as Comlink from 'comlink';
import type { WorkerApi } from '../worker/api.ts';

/** The training Worker: every GPU, model, dataset and run operation goes through this proxy. */
export const api = Comlink.wrap<WorkerApi>(new Worker(new URL('../worker/worker.ts', import.meta.url), { type: 'module' }));
export const proxy = Comlink.proxy;

/** Hub origin: https://huggingface.co, or `?hub=URL` (tests serve fixture folders locally). */
export const hubBase = new URLSearchParams(location.search).get('hub') ?? undefined;
