import { closeSync, openSync, readdirSync, realpathSync, rmSync, statSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isTempName, OutputError } from './node-atomic.ts';

/**
 * Output paths are checked before any work starts (before a model loads or a dataset is read):
 * no output may be an input (compared by device and inode, so symlinks, hard links and `..`
 * cannot hide it), nor a folder where a file goes (or the reverse), nor sit under a file, nor be
 * in a place that cannot be written. Nothing here opens the output itself, so paths such as
 * /proc/x or a FIFO never block.
 */

export interface NamedPath {
  readonly flag: string;
  readonly path: string;
}

/** What an existing non-empty output folder must look like to be written into again. */
export type FolderKind = 'run' | 'model';

const KIND_MARKERS: Record<FolderKind, { readonly what: string; readonly is: (names: readonly string[]) => boolean }> = {
  run: { what: 'a previous tabtune training run', is: (n) => n.includes('run_manifest.json') || n.some((x) => /^checkpoint-\d+$/.test(x)) },
  model: { what: 'a model folder (config.json)', is: (n) => n.includes('config.json') },
};

const statOrNull = (path: string): Stats | null => {
  try {
    return statSync(path);
  } catch {
    return null;
  }
};

const fail = (o: NamedPath, reason: string) => new OutputError(`${o.flag} ${o.path}`, reason);

/** The input an output would land on, compared by device and inode. */
function sameAsInput(st: Stats, inputs: readonly NamedPath[]): NamedPath | undefined {
  return inputs.find((i) => {
    const s = statOrNull(i.path);
    return s !== null && s.dev === st.dev && s.ino === st.ino;
  });
}

/** The nearest existing folder above `path`: it must be a folder and take new files. */
function checkParent(o: NamedPath): void {
  let dir = dirname(o.path);
  let st = statOrNull(dir);
  while (!st && dirname(dir) !== dir) {
    dir = dirname(dir);
    st = statOrNull(dir);
  }
  if (!st) throw fail(o, 'no existing folder above it');
  if (!st.isDirectory()) throw fail(o, `it is under ${dir}, which is a file, not a folder`);
  checkWritable(o, dir);
}

/** Creates and removes a probe file: the only sure test (read-only mounts, ACLs, procfs, root). */
function checkWritable(o: NamedPath, dir: string): void {
  const probe = join(dir, `.tabtune-probe-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    const why: Record<string, string> = { EROFS: 'read-only file system', EACCES: 'permission denied', EPERM: 'not permitted' };
    throw fail(o, `cannot write in ${dir} (${why[code] ?? 'new files cannot be made there'}, ${code})`);
  }
  rmSync(probe, { force: true });
}

/** An output file: a new or existing regular file that is none of the inputs. */
export function checkOutputFile(flag: string, path: string, inputs: readonly NamedPath[]): void {
  const o = { flag, path: resolve(path) };
  const st = statOrNull(o.path);
  if (st) {
    if (st.isDirectory()) throw fail(o, 'is a folder; give a file name');
    if (!st.isFile()) throw fail(o, 'is not a regular file (a device, FIFO or socket)');
    const input = sameAsInput(st, inputs);
    if (input) throw fail(o, `is the input ${input.flag} ${input.path}; inputs are never written over, choose another name`);
  }
  checkParent(o);
}

/**
 * An output folder: new, empty, or a previous output of the same kind (written into again), and
 * none of the input folders. A run folder holding checkpoints is only written into by a run that
 * resumes (a fresh run would replace the earlier run's checkpoints with its own).
 */
export function checkOutputFolder(flag: string, path: string, kind: FolderKind, inputs: readonly NamedPath[], opts: { resuming?: boolean } = {}): void {
  const o = { flag, path: resolve(path) };
  const st = statOrNull(o.path);
  if (!st) return checkParent(o);
  if (!st.isDirectory()) throw fail(o, 'is an existing file, not a folder');
  const input = sameAsInput(st, inputs);
  if (input) throw fail(o, `is the input ${input.flag} ${input.path}; inputs are never written over, choose another folder`);
  const inside = inputs.find((i) => {
    const s = statOrNull(i.path);
    const folder = s?.isFile() ? statOrNull(dirname(realpathSync(i.path))) : null;
    return folder !== null && folder.dev === st.dev && folder.ino === st.ino;
  });
  const names = readdirSync(o.path).filter((n) => !isTempName(n));
  if (names.length && !KIND_MARKERS[kind].is(names)) {
    const entries = `${names.length} other entr${names.length === 1 ? 'y' : 'ies'}`;
    throw fail(o, `is a folder with ${entries} in it and not ${KIND_MARKERS[kind].what}; choose a new or empty folder`);
  }
  if (inside) throw fail(o, `holds the input ${inside.flag} ${inside.path}; choose another folder`);
  if (kind === 'run' && !opts.resuming && names.some((n) => /^checkpoint-\d+$/.test(n))) {
    throw fail(o, `holds the checkpoints of an earlier run; continue it with --resume ${o.path}, or choose a new folder`);
  }
  checkWritable(o, o.path);
}

/** Two outputs of one command must differ (the second would replace the first). */
export function checkDistinct(outputs: readonly NamedPath[]): void {
  const seen = new Map<string, NamedPath>();
  for (const o of outputs) {
    const key = resolve(o.path);
    const other = seen.get(key);
    if (other) throw fail({ flag: o.flag, path: key }, `is also ${other.flag}; give them different names`);
    seen.set(key, o);
  }
}
