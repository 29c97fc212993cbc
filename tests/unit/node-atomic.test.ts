import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutputError, writeFileAtomic, writeFolderAtomic } from '../../src/platform/node-atomic.ts';
import { checksumProblem, checksumsJson, CHECKSUMS_FILE } from '../../src/platform/node-checksums.ts';

const fresh = () => mkdtempSync(join(tmpdir(), 'tabtune-atomic-'));
const enc = (s: string) => new TextEncoder().encode(s);

afterEach(() => {
  delete process.env.TABTUNE_TEST_FAULT;
});

describe('writeFileAtomic', () => {
  it('writes, replaces, streams chunks, and leaves no temporary name', () => {
    const dir = fresh();
    writeFileAtomic(join(dir, 'sub/a.txt'), 'first');
    writeFileAtomic(join(dir, 'sub/a.txt'), (write) => ['sec', 'ond'].forEach((s) => write(enc(s))));
    expect(readFileSync(join(dir, 'sub/a.txt'), 'utf8')).toBe('second');
    expect(readdirSync(join(dir, 'sub'))).toEqual(['a.txt']);
  });

  it('a failed write (ENOSPC) names the path and keeps the previous file whole', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'a.jsonl'), 'previous\n');
    process.env.TABTUNE_TEST_FAULT = 'enospc@a.jsonl';
    const write = () => writeFileAtomic(join(dir, 'a.jsonl'), 'x'.repeat(10_000));
    expect(write).toThrow(OutputError);
    expect(write).toThrow(`${join(dir, 'a.jsonl')}: no space left on device (ENOSPC)`);
    expect(readFileSync(join(dir, 'a.jsonl'), 'utf8')).toBe('previous\n');
    expect(readdirSync(dir)).toEqual(['a.jsonl']);
  });
});

describe('writeFolderAtomic', () => {
  it('replaces a folder only once the new one is complete', () => {
    const dir = fresh();
    const ck = join(dir, 'checkpoint-2');
    writeFolderAtomic(ck, { 'a.bin': enc('old a'), 'b.bin': enc('old b') });
    process.env.TABTUNE_TEST_FAULT = 'enospc@checkpoint-2/b.bin';
    expect(() => writeFolderAtomic(ck, { 'a.bin': enc('new a'), 'b.bin': enc('new b') })).toThrow(`${join(ck, 'b.bin')}: no space left`);
    expect(readFileSync(join(ck, 'a.bin'), 'utf8')).toBe('old a');
    expect(readdirSync(dir)).toEqual(['checkpoint-2']);
    delete process.env.TABTUNE_TEST_FAULT;
    writeFolderAtomic(ck, { 'c.bin': enc('new c') });
    expect(readdirSync(ck)).toEqual(['c.bin']);
    expect(readdirSync(dir)).toEqual(['checkpoint-2']);
  });
});

describe('checksums.json', () => {
  it('verifies every file and names the first that does not match', () => {
    const dir = fresh();
    const files = { 'optimizer.safetensors': enc('moments'), 'trainer_state.json': enc('{"step":3}') };
    writeFolderAtomic(dir, { ...files, [CHECKSUMS_FILE]: checksumsJson(files) });
    expect(checksumProblem(dir)).toBeNull();
    writeFileSync(join(dir, 'optimizer.safetensors'), 'momentz');
    expect(checksumProblem(dir)).toBe('optimizer.safetensors does not match its SHA-256 (the file changed or is damaged)');
    writeFileSync(join(dir, 'optimizer.safetensors'), 'moment');
    expect(checksumProblem(dir)).toBe('optimizer.safetensors has 6 bytes, 7 were written');
    expect(checksumProblem(fresh())).toMatch(/^no checksums\.json/);
  });
});
