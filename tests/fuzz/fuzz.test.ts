import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CASES, type FuzzCase } from './cases.ts';
import { LEFTOVER, makeCaseDir, ROOT, snapshot, tabtune } from './harness.ts';

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build-cli.mjs')], { cwd: ROOT });
});

/** An output that exists must be whole: JSON parses, every JSONL line parses. */
function expectComplete(dir: string, rel: string): void {
  const path = join(dir, rel);
  if (statSync(path).isDirectory()) return;
  const text = readFileSync(path, 'utf8');
  if (rel.endsWith('.json')) expect(() => JSON.parse(text), rel).not.toThrow();
  if (rel.endsWith('.jsonl')) for (const line of text.split('\n').filter(Boolean)) expect(() => JSON.parse(line), rel).not.toThrow();
}

async function check(c: FuzzCase): Promise<void> {
  const dir = makeCaseDir(c.files);
  const before = snapshot(dir);
  const r = await tabtune(dir, c.args, { maxHeapMiB: c.maxHeapMiB });
  const said = `${c.args.join(' ')}\nexit ${r.code} ${r.signal ?? ''}\nstderr:\n${r.lines.join('\n')}`;
  expect(r.code, said).toBe(c.exit);
  if (c.exit !== 0) {
    expect(r.lines, said).toHaveLength(1);
    expect(r.lines[0], said).toMatch(/^tabtune: /);
    expect(r.lines[0], said).toMatch(c.stderr);
  } else if (c.stderr.source === '^$') {
    expect(r.lines, said).toEqual([]);
  } else {
    expect(r.lines.some((l) => c.stderr.test(l)), said).toBe(true);
  }
  const after = snapshot(dir);
  for (const [path, hash] of before) expect(after.get(path), `${path} changed`).toBe(hash);
  const created = [...after.keys()].filter((p) => !before.has(p));
  expect(created.filter((p) => LEFTOVER.test(p)), 'half-written or temporary files left').toEqual([]);
  expect(created.filter((p) => !(c.outputs ?? []).includes(p)), 'files the command must not create').toEqual([]);
  for (const p of created) expectComplete(dir, p);
  for (const [file, { has, lacks }] of Object.entries(c.outputHolds ?? {})) {
    const text = readFileSync(join(dir, file), 'utf8');
    if (has) expect(text, file).toMatch(has);
    if (lacks) expect(text, file).not.toMatch(lacks);
  }
}

describe('bad-input corpus (issue 10): exit code, one line naming the file or flag, inputs unchanged, nothing half-written', () => {
  for (const c of CASES) it(`${c.id} [${c.owner}]: ${c.item}`, () => check(c), 300_000);
});
