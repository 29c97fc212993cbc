/**
 * Where the app keeps datasets, runs, checkpoints and adapters. Values are structured-cloneable
 * (objects, typed arrays). The browser implements it over IndexedDB; tests and Node over memory.
 */
export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
  keys(): Promise<string[]>;
}

export class MemoryStore implements KeyValueStore {
  private readonly map = new Map<string, unknown>();

  async get<T>(key: string): Promise<T | undefined> {
    return structuredClone(this.map.get(key)) as T | undefined;
  }

  async set(key: string, value: unknown): Promise<void> {
    this.map.set(key, structuredClone(value));
  }

  async del(key: string): Promise<void> {
    this.map.delete(key);
  }

  async keys(): Promise<string[]> {
    return [...this.map.keys()];
  }
}

/** Thrown when the browser's storage quota is exhausted; nothing already saved is lost. */
export class StorageFullError extends Error {
  constructor(what: string) {
    super(`browser storage is full while saving ${what}: delete old runs or datasets (Runs and Data views) and try again`);
    this.name = 'StorageFullError';
  }
}

export function newId(prefix: string): string {
  const rand = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, '0')).join('');
  return `${prefix}-${Date.now().toString(36)}-${rand}`;
}
