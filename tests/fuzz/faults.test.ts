import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEFTOVER, makeCaseDir, ROOT, snapshot, tabtune, type CliResult } from './harness.ts';

/**
 * Faults while writing: a kill -9 in the middle of a checkpoint, a damaged checkpoint, a full
 * disk, a read-only disk and a reader that goes away. The kill and (where no tmpfs can be
 * mounted) the full disk come from the TABTUNE_TEST_FAULT seam of src/platform/node-atomic.ts.
 */

const LLAMA = 'tests/fixtures/hf/models/tiny-llama';
const IDS =
  '{"input_ids":[274,314,240,438,86,238,241,171,431,360,478,347],"labels":[-100,-100,-100,-100,-100,-100,241,171,431,360,478,347]}\n' +
  '{"input_ids":[28,219,372,219,486,174,34,216,31,331,303,497],"labels":[28,219,372,219,486,174,34,216,31,331,303,497]}\n';
const TRAIN = ['train', '--model', 'model', '--data', 'ids.jsonl', '--steps', '6', '--batch', '1', '--save-every', '1', '--lr', '1e-2', '--json'];

const losses = (r: CliResult) => r.stdout.split('\n').filter((l) => l.startsWith('{"step"')).map((l) => JSON.parse(l) as { step: number; loss: number });
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const leftovers = (dir: string) => [...snapshot(dir).keys()].filter((p) => LEFTOVER.test(p));

/** A small tmpfs, mounted for the test (root only); null where this machine does not allow it. */
function mountTmpfs(size: string, options = ''): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'tabtune-tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${options}`, 'tmpfs', dir]);
  return r.status === 0 ? dir : null;
}
const mounted: string[] = [];

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build-cli.mjs')], { cwd: ROOT });
});

afterAll(() => {
  for (const dir of mounted) spawnSync('umount', [dir]);
});

describe('a run killed while writing a checkpoint resumes from the last good one', () => {
  it('kill -9 in checkpoint-4, a bit flipped in checkpoint-3: --resume skips both (one line each) and the losses equal the uninterrupted run', async () => {
    const dir = makeCaseDir({ model: { copy: LLAMA }, 'ids.jsonl': IDS });
    const whole = await tabtune(dir, [...TRAIN, '--out', 'whole']);
    expect(whole.code, whole.lines.join('\n')).toBe(0);
    expect(losses(whole).map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);

    const killed = await tabtune(dir, [...TRAIN, '--out', 'run'], { env: { TABTUNE_TEST_FAULT: 'kill@run/checkpoint-4/optimizer.safetensors' } });
    expect(killed.signal).toBe('SIGKILL');
    const names = readdirSync(join(dir, 'run'));
    expect(names.filter((n) => n.startsWith('checkpoint-')).sort()).toEqual(['checkpoint-1', 'checkpoint-2', 'checkpoint-3']);
    expect(names.filter((n) => /^\.checkpoint-4\.tmp-/.test(n))).toHaveLength(1);

    // One bit of an Adam moment flips on disk.
    const opt = join(dir, 'run/checkpoint-3/optimizer.safetensors');
    const bytes = readFileSync(opt);
    bytes[bytes.length - 3]! ^= 0x04;
    writeFileSync(opt, bytes);

    const resumed = await tabtune(dir, [...TRAIN, '--out', 'run', '--resume', 'run']);
    expect(resumed.code, resumed.lines.join('\n')).toBe(0);
    expect(resumed.lines).toEqual([
      expect.stringMatching(/^tabtune: skipped .*run\/\.checkpoint-4\.tmp-\d+-\d+: incomplete \(its write was interrupted\); removed$/),
      expect.stringMatching(/^tabtune: skipped .*run\/checkpoint-3: optimizer\.safetensors does not match its SHA-256/),
    ]);
    const after = losses(resumed);
    expect(after.map((l) => l.step)).toEqual([3, 4, 5, 6]);
    expect(after.map((l) => l.loss)).toEqual(losses(whole).slice(2).map((l) => l.loss));
    expect(sha256(join(dir, 'run/adapter_model.safetensors'))).toBe(sha256(join(dir, 'whole/adapter_model.safetensors')));
    expect(leftovers(dir)).toEqual([]);
  });

  it('a checkpoint records the SHA-256 of every file it holds', async () => {
    const dir = makeCaseDir({ model: { copy: LLAMA }, 'ids.jsonl': IDS });
    expect((await tabtune(dir, [...TRAIN, '--steps', '2', '--out', 'run'])).code).toBe(0);
    const ck = join(dir, 'run/checkpoint-1');
    const sums = JSON.parse(readFileSync(join(ck, 'checksums.json'), 'utf8')) as { sha256: Record<string, string> };
    const files = readdirSync(ck).filter((n) => n !== 'checksums.json').sort();
    expect(Object.keys(sums.sha256).sort()).toEqual(files);
    for (const f of files) expect(sums.sha256[f], f).toBe(sha256(join(ck, f)));
  });
});

describe('a full disk names the path being written and leaves the previous file', () => {
  const full = mountTmpfs('64k');
  if (full) mounted.push(full);
  // Without a mountable tmpfs the same failure is injected at the same place.
  const inject = (path: string): Record<string, string> => (full ? {} : { TABTUNE_TEST_FAULT: `enospc@${path}` });

  it(`data prepare onto a full disk (${full ? 'a 64 KiB tmpfs' : 'injected ENOSPC'})`, async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ text: `record ${i} ${'x'.repeat(i % 50)}` })).join('\n');
    const dir = makeCaseDir({ 'big.jsonl': lines });
    const outDir = full ?? join(dir, 'disk');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'clean.jsonl'), '{"text":"the previous version"}\n');
    const r = await tabtune(dir, ['data', 'prepare', '--data', 'big.jsonl', '--out', join(outDir, 'clean.jsonl'), '--dedup', 'off', '--pii', 'off', '--json'], { env: inject('clean.jsonl') });
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([`tabtune: ${join(outDir, 'clean.jsonl')}: no space left on device (ENOSPC); nothing was written under this name`]);
    expect(readFileSync(join(outDir, 'clean.jsonl'), 'utf8')).toBe('{"text":"the previous version"}\n');
    expect(leftovers(outDir)).toEqual([]);
    if (full) rmSync(join(outDir, 'clean.jsonl'));
  });

  it('train whose checkpoint does not fit: one line naming the checkpoint file, not the dataset', async () => {
    const dir = makeCaseDir({ model: { copy: LLAMA }, 'ids.jsonl': IDS });
    const out = join(full ?? dir, 'run');
    const r = await tabtune(dir, [...TRAIN, '--out', out], { env: inject('checkpoint-1/adapter_model.safetensors') });
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([expect.stringMatching(new RegExp(`^tabtune: ${out}/checkpoint-1/adapter_model\\.safetensors: no space left on device \\(ENOSPC\\)`))]);
    expect(existsSync(join(out, 'checkpoint-1'))).toBe(false);
    expect(leftovers(full ?? dir)).toEqual([]);
  });
});

describe('a read-only location is refused before the model loads', () => {
  // A read-only tmpfs where it can be mounted (root), else a folder without write permission.
  let ro = mountTmpfs('64k', ',ro');
  if (ro) mounted.push(ro);
  else chmodSync((ro = mkdtempSync(join(tmpdir(), 'tabtune-ro-'))), 0o555);
  it(`train --out in a place that cannot be written (${mounted.includes(ro) ? 'read-only tmpfs' : 'mode 555'})`, async () => {
    const dir = makeCaseDir({ model: { copy: LLAMA }, 'ids.jsonl': IDS });
    const r = await tabtune(dir, [...TRAIN, '--out', join(ro, 'run')]);
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([expect.stringMatching(new RegExp(`^tabtune: --out ${join(ro, 'run')}: cannot write in ${ro} \\((read-only file system, EROFS|permission denied, EACCES)\\)$`))]);
    expect(r.stdout).toBe('');
    expect(readdirSync(ro)).toEqual([]);
  });
});

describe('output to a pipe', () => {
  it('tabtune train --json | head -1: exits quietly, the run folder is complete', async () => {
    const dir = makeCaseDir({ model: { copy: LLAMA }, 'ids.jsonl': IDS });
    const child = spawn(process.execPath, [join(ROOT, 'bin/tabtune.mjs'), ...TRAIN, '--steps', '400', '--save-every', '0', '--out', 'run'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    // Like `head -1`: read the first line, then close the pipe.
    const first = await new Promise<string>((done) => {
      let buf = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        buf += s;
        if (buf.includes('\n')) {
          child.stdout.destroy();
          done(buf.split('\n')[0]!);
        }
      });
    });
    const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
    expect(JSON.parse(first).step).toBe(1);
    expect(code).toBe(0);
    expect(stderr.split('\n').filter((l) => l && !/^Warning: maxDynamic/.test(l))).toEqual([]);
    expect(leftovers(dir)).toEqual([]);
    // Stopped early at a step boundary: a checkpoint to resume from, and the run's files, all whole.
    const run = join(dir, 'run');
    const manifest = JSON.parse(readFileSync(join(run, 'run_manifest.json'), 'utf8')) as { adapterHash: string; totalSteps: number };
    expect(manifest.adapterHash).toBe(sha256(join(run, 'adapter_model.safetensors')));
    const checkpoints = readdirSync(run).filter((n) => /^checkpoint-\d+$/.test(n));
    expect(checkpoints).toHaveLength(1);
    const sums = JSON.parse(readFileSync(join(run, checkpoints[0]!, 'checksums.json'), 'utf8')) as { sha256: Record<string, string> };
    for (const [f, h] of Object.entries(sums.sha256)) expect(sha256(join(run, checkpoints[0]!, f)), f).toBe(h);
    expect(Number(checkpoints[0]!.slice(11))).toBeLessThan(400);
  });
});
