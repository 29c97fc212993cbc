import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Every file the CLI writes goes through here: bytes go to a temporary name in the same folder,
 * are flushed (fsync), then renamed over the real name, and the folder is flushed. A full disk,
 * a kill or a crash leaves the previous file (or none), never a half-written one.
 */

/** A write that failed; names the path being written (not the input that was being read). */
export class OutputError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'OutputError';
  }
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device (ENOSPC); nothing was written under this name',
  EDQUOT: 'disk quota exceeded (EDQUOT); nothing was written under this name',
  EROFS: 'read-only file system (EROFS)',
  EACCES: 'permission denied (EACCES)',
  EPERM: 'operation not permitted (EPERM)',
  ENOTDIR: 'a part of this path is a file, not a folder (ENOTDIR)',
  EISDIR: 'is a folder (EISDIR)',
  EIO: 'input/output error (EIO)',
};

export function outputError(path: string, e: unknown): OutputError {
  if (e instanceof OutputError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  return new OutputError(path, code ? (REASONS[code] ?? `cannot write (${code})`) : `cannot write (${(e as Error).message})`);
}

let serial = 0;
const tempPath = (path: string, kind: 'tmp' | 'old' = 'tmp') => join(dirname(path), `.${basename(path)}.${kind}-${process.pid}-${serial++}`);

/** True for the temporary names above, so readers can skip (and name) interrupted writes. */
export const isTempName = (name: string): boolean => /^\..+\.(tmp|old)-\d+-\d+$/.test(name);

/**
 * Test seam only: TABTUNE_TEST_FAULT=kill@SUBSTRING or enospc@SUBSTRING makes the write of the
 * first file whose final path contains SUBSTRING die (SIGKILL) or fail (ENOSPC) halfway through.
 */
function injectedFault(finalPath: string): 'kill' | 'enospc' | null {
  const m = /^(kill|enospc)@(.+)$/.exec(process.env.TABTUNE_TEST_FAULT ?? '');
  return m && finalPath.includes(m[2]!) ? (m[1] as 'kill' | 'enospc') : null;
}

/** Bytes, or a function that hands its chunks to `write` (for files too large to hold whole). */
export type Content = Uint8Array | string | ((write: (chunk: Uint8Array) => void) => void);

function writeAll(fd: number, chunk: Uint8Array): void {
  for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done, chunk.length - done);
}

/** Writes `content` to the already-chosen path `tmp`, flushed; `finalPath` is only for the fault seam. */
function writeFlushed(tmp: string, content: Content, finalPath: string): void {
  const fault = injectedFault(finalPath);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    const write = (chunk: Uint8Array) => {
      if (fault) {
        writeAll(fd, chunk.subarray(0, chunk.length >> 1));
        fsyncSync(fd);
        if (fault === 'kill') process.kill(process.pid, 'SIGKILL');
        throw Object.assign(new Error('ENOSPC (injected by TABTUNE_TEST_FAULT)'), { code: 'ENOSPC' });
      }
      writeAll(fd, chunk);
    };
    if (typeof content === 'function') content(write);
    else write(typeof content === 'string' ? new TextEncoder().encode(content) : content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flushes a folder's entries (the renames in it); some file systems cannot, which is harmless. */
function syncFolder(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // EINVAL/EISDIR on file systems without directory fsync: the rename itself is still atomic.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Writes one file atomically (its folder is created if missing). */
export function writeFileAtomic(path: string, content: Content): void {
  const tmp = tempPath(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFlushed(tmp, content, path);
    renameSync(tmp, path);
    syncFolder(dirname(path));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw outputError(path, e);
  }
}

/** Writes a stream of chunks (a file too large to hold whole, made asynchronously) atomically; returns its size. */
export async function writeStreamAtomic(path: string, chunks: AsyncIterable<Uint8Array>): Promise<number> {
  let size = 0;
  const tmp = tempPath(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      for await (const chunk of chunks) {
        writeAll(fd, chunk);
        size += chunk.length;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    syncFolder(dirname(path));
    return size;
  } catch (e) {
    rmSync(tmp, { force: true });
    throw outputError(path, e);
  }
}

/**
 * Writes files into a folder (created if missing), each atomically, in order; put the file that
 * marks the folder complete (e.g. run_manifest.json) last.
 */
export function writeFilesAtomic(dir: string, files: Record<string, Content>): void {
  for (const [name, content] of Object.entries(files)) writeFileAtomic(join(dir, name), content);
}

/**
 * Writes a whole folder at once: into a temporary sibling folder, flushed, then renamed to `dir`
 * (a previous folder of that name is replaced only after the new one is complete).
 */
export function writeFolderAtomic(dir: string, files: Record<string, Content>): void {
  const tmp = tempPath(dir);
  const old = tempPath(dir, 'old');
  try {
    mkdirSync(tmp, { recursive: true });
    for (const [name, content] of Object.entries(files)) {
      try {
        writeFlushed(join(tmp, name), content, join(dir, name));
      } catch (e) {
        throw outputError(join(dir, name), e);
      }
    }
    syncFolder(tmp);
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(tmp, dir);
    syncFolder(dirname(dir));
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(old) && !existsSync(dir)) renameSync(old, dir);
    throw outputError(dir, e);
  }
  rmSync(old, { recursive: true, force: true });
}
