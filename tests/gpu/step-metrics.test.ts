import { describe, expect, it } from 'vitest';
import { stepMetrics } from '../../src/core/bench/step-metrics.ts';
import { Program } from '../../src/core/gpu/program.ts';
import { allocTensor } from '../../src/core/gpu/tensor.ts';
import { add, fill } from '../../src/core/kernels/elementwise.ts';
import { matmul } from '../../src/core/kernels/matmul.ts';
import { testGpu } from './gpu-harness.ts';

describe('bench step metrics', () => {
  it('count every dispatch, and the bytes non-matmul kernels bind writable', async () => {
    const gpu = await testGpu();
    const a = allocTensor(gpu, [6 * 5], 'scratch', 'a');
    const b = allocTensor(gpu, [5 * 7], 'scratch', 'b');
    const c = allocTensor(gpu, [6 * 7], 'scratch', 'c'); // 168 bytes, a 176-byte buffer
    const d = allocTensor(gpu, [100], 'scratch', 'd'); // 400 bytes
    const first = new Program('one');
    await matmul(gpu, first, { a, b, c, M: 6, N: 7, K: 5 });
    await fill(gpu, first, d, 100, 1);
    const second = new Program('two');
    await add(gpu, second, c, c, d, 42);
    await matmul(gpu, second, { a: c, b: d, c: a, M: 6, N: 5, K: 7 });
    const m = stepMetrics([first, second]);
    expect(m.dispatches).toBe(4);
    // fill and add each write d; the matmuls are left out.
    expect(m.nonmatmulBytes).toBe(2 * d.buffer.size);
    expect(first.bytesWritten()).toBe(c.buffer.size + d.buffer.size);
  });
});
