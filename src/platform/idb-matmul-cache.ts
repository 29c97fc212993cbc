import type { MatmulTuneCache } from '../core/kernels/matmul-tune.ts';
import { IdbStore } from './idb-store.ts';

/** Tuned matmul choices in the tab's IndexedDB, one record per adapter (its own database). */
export function idbMatmulCache(store = new IdbStore('tabtune-tuning', 'matmul')): MatmulTuneCache {
  return {
    load: async (adapter) => (await store.get<Record<string, string>>(adapter)) ?? {},
    save: (adapter, table) => store.set(adapter, table),
  };
}
