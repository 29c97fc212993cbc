import { closeSync, existsSync, fsyncSync, openSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from './args.ts';

/**
 * Writes a stream of chunks to `path` atomically: into a temporary name in the same folder, then
 * renamed over the target, so a reader never sees half a file and a failure leaves nothing.
 */
export async function writeChunksAtomically(path: string, chunks: AsyncIterable<Uint8Array>): Promise<number> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w');
  let size = 0;
  try {
    for await (const chunk of chunks) {
      let done = 0;
      while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
      size += chunk.length;
    }
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
    return size;
  } catch (e) {
    try { closeSync(fd); } catch { /* already closed */ }
    rmSync(tmp, { force: true });
    throw e;
  }
}

export async function writeFileAtomically(path: string, bytes: Uint8Array): Promise<void> {
  await writeChunksAtomically(path, (async function* () { yield bytes; })());
}

/**
 * Checks an output path before any work: its folder exists, it is not a folder itself, and it is
 * none of the inputs (an input file, or an existing file inside an input folder).
 */
export function checkOutputPath(path: string, flag: string, inputs: readonly string[]): string {
  const out = resolve(path);
  const dir = dirname(out);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--${flag} ${path}: the folder ${dir} does not exist`);
  if (existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`--${flag} ${path} is a folder; give a file name`);
  const real = existsSync(out) ? realpathSync(out) : join(realpathSync(dir), basename(out));
  for (const input of inputs) {
    if (!existsSync(input)) continue;
    const inReal = realpathSync(input);
    if (real === inReal || (existsSync(out) && real.startsWith(`${inReal}/`))) throw new UsageError(`--${flag} ${path} would write over the input ${input}`);
  }
  return out;
}
