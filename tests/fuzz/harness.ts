import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileSpec } from './cases.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  /** stderr lines, without Dawn's own start-up warnings (they are not tabtune's output). */
  readonly lines: string[];
}

const DAWN_NOISE = /^Warning: maxDynamic\w+ artificially reduced/;

/** Runs the built CLI in `cwd` (asynchronously, so the test's own timeout still applies). */
export function tabtune(cwd: string, args: readonly string[], o: { env?: Record<string, string>; maxHeapMiB?: number } = {}): Promise<CliResult> {
  const node = o.maxHeapMiB ? [`--max-old-space-size=${o.maxHeapMiB}`] : [];
  const child = spawn(process.execPath, [...node, join(ROOT, 'bin/tabtune.mjs'), ...args], { cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((done) =>
    child.on('close', (code, signal) => done({ code, signal, stdout, lines: stderr.split('\n').filter((l) => l && !DAWN_NOISE.test(l)) })),
  );
}

/** Makes a case folder from its file specs (links after the files they point to). */
export function makeCaseDir(files: Readonly<Record<string, FileSpec>>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tabtune-fuzz-'));
  const entries = Object.entries(files);
  const isLink = (s: FileSpec) => typeof s === 'object' && ('symlink' in s || 'hardlink' in s);
  for (const [name, spec] of [...entries.filter(([, s]) => !isLink(s)), ...entries.filter(([, s]) => isLink(s))]) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof spec === 'string') writeFileSync(path, spec);
    else if ('bytes' in spec) writeFileSync(path, Uint8Array.from(spec.bytes));
    else if ('repeat' in spec) writeFileSync(path, `${spec.prefix ?? ''}${spec.repeat.repeat(spec.times)}${spec.suffix ?? ''}`);
    else if ('copy' in spec) {
      cpSync(join(ROOT, spec.copy), path, { recursive: true });
      for (const [f, text] of Object.entries(spec.edit ?? {})) writeFileSync(join(path, f), text);
      for (const [f, share] of Object.entries(spec.truncate ?? {})) truncateSync(join(path, f), Math.floor(statSync(join(path, f)).size * share));
    } else if ('symlink' in spec) symlinkSync(spec.symlink, path);
    else if ('hardlink' in spec) linkSync(join(dir, spec.hardlink), path);
    else if ('fifo' in spec) execFileSync('mkfifo', [path]);
    else mkdirSync(path, { recursive: true });
  }
  return dir;
}

/** Every entry under `dir` (not following links): a file's SHA-256, or what the entry is. */
export function snapshot(dir: string, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const st = lstatSync(join(dir, rel));
    if (st.isSymbolicLink()) out.set(rel, `link:${readlinkSync(join(dir, rel))}`);
    else if (st.isDirectory()) {
      out.set(rel, 'dir');
      for (const [k, v] of snapshot(dir, rel)) out.set(k, v);
    } else if (st.isFile()) out.set(rel, createHash('sha256').update(readFileSync(join(dir, rel))).digest('hex'));
    else out.set(rel, 'special');
  }
  return out;
}

/** Names the atomic writer and the output checks use while they work; none may be left behind. */
export const LEFTOVER = /(^|\/)\.[^/]+\.(tmp|old)-\d+-\d+($|\/)|(^|\/)\.tabtune-probe-\d+$/;
