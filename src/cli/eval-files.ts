import { readFile } from 'node:fs/promises';
import { InputError } from '../core/errors.ts';
import { memoryTree } from '../core/formats/bytes.ts';
import type { Session } from '../core/session.ts';

/** The file's text; a missing or unreadable file is one line naming it. */
export async function readTextFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new InputError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/**
 * Runs `fn` on the base model, then (with an adapter attached) on the fine-tuned one. The adapter
 * is kept in memory while it is detached, so the model is loaded once.
 */
export async function baseThenAdapter<T>(session: Session, fn: (which: 'base' | 'adapter') => Promise<T>): Promise<{ base: T; adapter: T | null }> {
  if (!session.adapterInfo()) return { base: await fn('base'), adapter: null };
  const saved = await session.saveAdapter();
  session.dropAdapter();
  const base = await fn('base');
  await session.loadAdapter(memoryTree('adapter', saved));
  return { base, adapter: await fn('adapter') };
}

