import * as Comlink from 'comlink';
import type { WorkerApi } from '../worker/api.ts';

/** GPU self-test page: runs kernels in the Worker and shows (and exposes) the comparison. */
const worker = Comlink.wrap<WorkerApi>(new Worker(new URL('../worker/worker.ts', import.meta.url), { type: 'module' }));
const out = document.getElementById('out')!;
const report = (data: unknown) => {
  (window as unknown as { selftest: unknown }).selftest = data;
  out.textContent = JSON.stringify(data, null, 2);
};
worker
  .init()
  .then(async (info) => report({ adapter: info.adapter, results: await worker.selfTest() }))
  .catch((e: Error) => report({ error: e.message }));
