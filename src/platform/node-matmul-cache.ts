import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { MatmulTuneCache } from '../core/kernels/matmul-tune.ts';
import { writeFileAtomic } from './node-atomic.ts';

/** tabtune's cache folder: $TABTUNE_CACHE_DIR, else $XDG_CACHE_HOME/tabtune, else ~/.cache/tabtune. */
export function cacheDir(): string {
  return process.env.TABTUNE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tabtune');
}

/** Tuned matmul choices in one JSON file, `{ adapter: { shape class: kernel } }`, written atomically. */
export function nodeMatmulCache(dir = cacheDir()): MatmulTuneCache & { readonly path: string } {
  const path = join(dir, 'matmul-tune.json');
  const readAll = (): Record<string, Record<string, string>> => {
    if (!existsSync(path)) return {};
    try {
      const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, Record<string, string>>) : {};
    } catch {
      return {}; // a damaged cache only costs a new tuning run
    }
  };
  return {
    path,
    load: async (adapter) => readAll()[adapter] ?? {},
    save: async (adapter, table) => {
      const all = readAll();
      all[adapter] = table;
      mkdirSync(dir, { recursive: true });
      writeFileAtomic(path, `${JSON.stringify(all, null, 1)}\n`);
    },
  };
}
