import { describe, expect, it } from 'vitest';
import { fusedLoraSelfTest } from '../../src/core/selftest/fused.ts';
import { Rng } from '../../src/core/rng.ts';
import { testGpu } from './gpu-harness.ts';

describe('the self-test page checks fused LoRA', () => {
  it('matches float64 with the kernel this adapter picks', async () => {
    const gpu = await testGpu();
    const r = await fusedLoraSelfTest(gpu, new Rng(5));
    expect(r.name).toMatch(/fused LoRA/);
    expect(r.relError).toBeLessThan(1e-4);
  });
});
