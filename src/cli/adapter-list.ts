/**
 * `--adapter NAME=DIR` (repeated or comma-separated) and the flags that pick among the loaded
 * adapters: `--use NAME`, `--aggregator NAME`, `--proposers NAME[@T],...` ("base": no adapter).
 */
import { basename, resolve } from 'node:path';
import type { Proposer } from '../core/pipeline/moa.ts';
import { UsageError } from './args.ts';

export interface NamedAdapter {
  readonly name: string;
  readonly dir: string;
}

/** The name that selects the base model alone. */
export const BASE = 'base';

/** NAME=DIR entries; a bare DIR is named after its folder. */
export function parseAdapterList(items: readonly string[]): NamedAdapter[] {
  const list = items.map((s) => {
    const m = /^([^=]+)=(.+)$/.exec(s);
    const dir = resolve(m ? m[2]! : s);
    return { name: m ? m[1]!.trim() : basename(dir), dir };
  });
  for (const [i, a] of list.entries()) {
    if (a.name === BASE) throw new UsageError(`--adapter names "${BASE}" the model without an adapter; give ${a.dir} another name (NAME=DIR)`);
    if (list.findIndex((b) => b.name === a.name) !== i) throw new UsageError(`--adapter names "${a.name}" twice; name each adapter (NAME=DIR)`);
  }
  return list;
}

/** A loaded adapter's name (null for "base"), or a usage error naming the flag and the choices. */
export function pickAdapter(flag: string, value: string, names: readonly string[]): string | null {
  if (value === BASE) return null;
  if (!names.includes(value)) throw new UsageError(`--${flag} must be one of ${[BASE, ...names].join(', ')}, got "${value}"`);
  return value;
}

/** `NAME` (the run's decoding) or `NAME@T` (sampling at temperature T, its own seed). */
export function parseProposers(items: readonly string[], names: readonly string[], seed: number): Proposer[] {
  return items.map((item, i) => {
    const [name, temp, extra] = item.split('@');
    const adapter = pickAdapter('proposers', name!, names);
    if (extra !== undefined || (temp !== undefined && !(Number(temp) > 0))) {
      throw new UsageError(`--proposers takes NAME or NAME@T with a temperature T > 0, got "${item}"`);
    }
    const sampling = temp === undefined ? {} : { greedy: false, temperature: Number(temp), seed: seed + i };
    return { name: item, adapter, sampling };
  });
}
