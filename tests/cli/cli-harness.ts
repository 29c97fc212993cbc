/** Shared set-up of the CLI tests: the bundle built before a file's tests, and the built CLI run as a user runs it. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const LLAMA = join(ROOT, 'tests/fixtures/hf/models/tiny-llama');

/**
 * tiny-llama's reference.json (transformers' numbers) and its token rows as a pre-tokenised JSONL
 * file (input_ids, labels) for `--data`.
 */
export function referenceData(): { ref: any; data: string } {
  const ref = JSON.parse(readFileSync(join(LLAMA, 'reference.json'), 'utf8'));
  const data = join(mkdtempSync(join(tmpdir(), 'tabtune-data-')), 'ref.jsonl');
  writeFileSync(data, ref.input_ids.map((ids: number[], i: number) => JSON.stringify({ input_ids: ids, labels: ref.labels[i] })).join('\n'));
  return { ref, data };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Builds dist/ (`npm run build:cli`) so the tests never run a stale bundle: `beforeAll(buildCli)`. */
export function buildCli(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build-cli.mjs')], { cwd: ROOT });
}

/**
 * `tabtune ARGS` in `cwd` (a new empty folder unless given, so nothing lands in the repository), with
 * V8's heap capped at `heapMb` when given (a run that needs far more memory fails).
 */
export function runCli(args: readonly string[], options: { cwd?: string; heapMb?: number } = {}): CliRun {
  const node = options.heapMb ? [`--max-old-space-size=${options.heapMb}`] : [];
  const cwd = options.cwd ?? mkdtempSync(join(tmpdir(), 'tabtune-cwd-'));
  const r = spawnSync(process.execPath, [...node, join(ROOT, 'bin/tabtune.mjs'), ...args], { encoding: 'utf8', cwd });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `tabtune ARGS` in a new empty folder. */
export const tabtune = (...args: string[]): CliRun => runCli(args);

/** The JSON records of a --json run's stdout (other lines skipped). */
export const jsonLines = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

/** The last stdout line of a run that must succeed, parsed (a --json command's result). */
export function lastRecord<T>(r: CliRun): T {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
}
