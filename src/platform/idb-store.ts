import { createStore, del, get, keys, set, type UseStore } from 'idb-keyval';
import { StorageFullError, type KeyValueStore } from '../core/workspace/store.ts';

/** The workspace store over IndexedDB (one object store, structured-clone values). */
export class IdbStore implements KeyValueStore {
  private readonly db: UseStore;

  constructor(dbName = 'tabtune', storeName = 'workspace') {
    this.db = createStore(dbName, storeName);
  }

  get<T>(key: string): Promise<T | undefined> {
    return get<T>(key, this.db);
  }

  async set(key: string, value: unknown): Promise<void> {
    try {
      await set(key, value, this.db);
    } catch (e) {
      if ((e as DOMException).name === 'QuotaExceededError') throw new StorageFullError(key.split(':')[0] ?? key);
      throw e;
    }
  }

  del(key: string): Promise<void> {
    return del(key, this.db);
  }

  async keys(): Promise<string[]> {
    return (await keys(this.db)).map(String);
  }
}
