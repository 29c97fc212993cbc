import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Gpu } from '../../src/core/gpu/gpu.ts';
import { Program } from '../../src/core/gpu/program.ts';
import { fallbackKernel, matmul, matmulRef } from '../../src/core/kernels/matmul.ts';
import { adapterKey, candidates, enableMatmulAutotune, shapeClass } from '../../src/core/kernels/matmul-tune.ts';
import { nodeMatmulCache } from '../../src/platform/node-matmul-cache.ts';
import { randomArray, relError, runAndRead, testGpu, upload } from './gpu-harness.ts';

describe('matmul autotune', () => {
  it('times every candidate once per shape class, stores the choice per adapter and reuses it', async () => {
    const gpu = await testGpu();
    const dir = mkdtempSync(join(tmpdir(), 'tabtune-tune-'));
    const cache = nodeMatmulCache(dir);
    const tuner = enableMatmulAutotune(gpu, cache);
    const [M, N, K] = [70, 90, 33];
    const a = randomArray(M * K, 1);
    const b = randomArray(N * K, 2);
    const c = upload(gpu, new Float32Array(M * N));
    const got = await runAndRead(gpu, (p) => matmul(gpu, p, { a: upload(gpu, a), b: upload(gpu, b), transB: true, c, M, N, K }), c);
    expect(relError(got, matmulRef(a, b, M, N, K, { transB: true }))).toBeLessThan(1e-5);

    const cls = shapeClass(M, N, K, false, true);
    const timed = tuner.timings.get(cls.key)!;
    expect(Object.keys(timed).sort()).toEqual(candidates(gpu, cls).sort());
    for (const ms of Object.values(timed)) expect(ms).toBeGreaterThan(0);
    const saved = JSON.parse(readFileSync(cache.path, 'utf8'))[adapterKey(gpu)][cls.key];
    const fastest = Object.entries(timed).sort((x, y) => x[1] - y[1])[0]![0];
    expect(saved).toBe(fastest);

    // A later run starts from the file: no timing, and the stored kernel is the one recorded.
    const table = JSON.parse(readFileSync(cache.path, 'utf8'));
    table[adapterKey(gpu)][cls.key] = 'b32x32';
    writeFileSync(cache.path, JSON.stringify(table));
    const later = enableMatmulAutotune(gpu, nodeMatmulCache(dir));
    const p = new Program('t');
    await matmul(gpu, p, { a: upload(gpu, a), b: upload(gpu, b), transB: true, c, M, N, K });
    expect(later.timings.size).toBe(0);
    expect(p.ops.map((op) => (op.kind === 'dispatch' ? op.label : op.kind))).toEqual(['matmul_b32x32.main']);
    gpu.run(p);
    expect(relError(await gpu.readF32(c.buffer, 0, M * N), matmulRef(a, b, M, N, K, { transB: true }))).toBeLessThan(1e-5);
  });

  it('a damaged cache file costs a new tuning run, not an error', async () => {
    const gpu = await testGpu();
    const dir = mkdtempSync(join(tmpdir(), 'tabtune-tune-'));
    writeFileSync(join(dir, 'matmul-tune.json'), '{ not json');
    const tuner = enableMatmulAutotune(gpu, nodeMatmulCache(dir));
    const [M, N, K] = [5, 3, 4];
    const a = randomArray(M * K, 3);
    const b = randomArray(K * N, 4);
    const c = upload(gpu, new Float32Array(M * N));
    const got = await runAndRead(gpu, (p) => matmul(gpu, p, { a: upload(gpu, a), b: upload(gpu, b), c, M, N, K }), c);
    expect(relError(got, matmulRef(a, b, M, N, K))).toBeLessThan(1e-5);
    expect(tuner.timings.size).toBe(1);
    expect(Object.keys(JSON.parse(readFileSync(join(dir, 'matmul-tune.json'), 'utf8')))).toEqual([adapterKey(gpu)]);
  });

  it('the fixed table (tuning off): blocked tiles on GPUs within the workgroup limits, 4x4 on CPU drivers', async () => {
    const real = await testGpu();
    expect(real.adapter.software).toBe(true);
    expect(fallbackKernel(real, 1024, 1024, 1024)).toBe('reg4');
    // The same device described as a GPU, and again with 4 KiB of workgroup memory.
    const gpu = new Gpu(real.device, { ...real.adapter, software: false });
    expect(fallbackKernel(gpu, 1024, 1024, 1024)).toBe('b128x128');
    expect(fallbackKernel(gpu, 100, 1024, 64)).toBe('b64x64');
    expect(fallbackKernel(gpu, 1024, 16, 1024)).toBe('reg4');
    const small = new Gpu(real.device, { ...real.adapter, software: false }, { maxComputeWorkgroupStorageSize: 4096 });
    expect(fallbackKernel(small, 1024, 1024, 1024)).toBe('reg4');
    expect(candidates(small, shapeClass(1024, 1024, 1024, false, false))).toEqual(['reg4', 'b32x32']);
    small.tuning.matmul = 'b256';
    expect(() => fallbackKernel(small, 8, 8, 8)).toThrow(/unknown matmul kernel "b256"/);
  });
});
