import type { Gpu } from '../gpu/gpu.ts';
import { Program } from '../gpu/program.ts';
import { allocTensor } from '../gpu/tensor.ts';
import { chooseKernel, matmul } from '../kernels/matmul.ts';
import type { MatmulKernel } from '../kernels/matmul-configs.ts';

export interface MatmulBench {
  readonly bench: 'matmul';
  readonly shape: string;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly transA: boolean;
  readonly transB: boolean;
  readonly ms: number;
  readonly gflops: number;
  readonly kernel: string;
  readonly adapter: string;
}

/** Times one matmul shape (with `kernel` forced, or the one the dispatcher picks): warm-up, then ~0.5 s (at most 50 runs). */
export async function benchMatmul(
  gpu: Gpu, label: string, M: number, N: number, K: number, transA = false, transB = false, kernel?: MatmulKernel,
): Promise<MatmulBench> {
  const saved = gpu.tuning.matmul;
  if (kernel !== undefined) gpu.tuning.matmul = kernel;
  const a = allocTensor(gpu, [M * K], 'scratch', 'bench-a');
  const b = allocTensor(gpu, [K * N], 'scratch', 'bench-b');
  const c = allocTensor(gpu, [M * N], 'scratch', 'bench-c');
  try {
    const p = new Program('bench');
    await matmul(gpu, p, { a, b, c, M, N, K, transA, transB });
    gpu.run(p);
    await gpu.sync();
    let t0 = performance.now();
    gpu.run(p);
    await gpu.sync();
    const once = performance.now() - t0;
    const reps = Math.max(1, Math.min(50, Math.floor(500 / Math.max(once, 0.01))));
    t0 = performance.now();
    for (let i = 0; i < reps; i++) gpu.run(p);
    await gpu.sync();
    const ms = (performance.now() - t0) / reps;
    const chosen = await chooseKernel(gpu, M, N, K, transA, transB);
    const gflops = (2 * M * N * K) / (ms * 1e6);
    return { bench: 'matmul', shape: label, M, N, K, transA, transB, ms, gflops, kernel: chosen, adapter: gpu.adapter.description };
  } finally {
    if (saved === undefined) delete gpu.tuning.matmul;
    else gpu.tuning.matmul = saved;
    for (const t of [a, b, c]) gpu.destroyBuffer(t.buffer);
  }
}

/** Square shapes and the skinny products of LoRA (tokens × rank × hidden), forward and backward. */
export function matmulShapes(big: boolean): [string, number, number, number, boolean, boolean][] {
  const shapes: [string, number, number, number, boolean, boolean][] = [
    ['square 256', 256, 256, 256, false, false],
    ['square 512', 512, 512, 512, false, false],
    ['square 1024', 1024, 1024, 1024, false, false],
    ['linear 1024 x·Wᵀ', 1024, 1024, 1024, false, true],
  ];
  if (big) shapes.push(['square 2048', 2048, 2048, 2048, false, false], ['square 4096', 4096, 4096, 4096, false, false]);
  for (const r of [8, 16]) {
    for (const d of [576, 896]) {
      shapes.push(
        [`lora x·Aᵀ 256x${r}x${d}`, 256, r, d, false, true],
        [`lora t·Bᵀ 256x${d}x${r}`, 256, d, r, false, true],
        [`lora dA=dtᵀ·x ${r}x${d}x256`, r, d, 256, true, false],
      );
    }
  }
  return shapes;
}
