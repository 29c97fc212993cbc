import type { Gpu } from '../../src/core/gpu/gpu.ts';
import type { Tensor } from '../../src/core/gpu/tensor.ts';
import { upload } from './gpu-harness.ts';

/** Logits [T, V] uploaded as vocabulary chunks of the given widths (columns v0 … v0 + Vc of every row), as the cross-entropy kernels read them. */
export function logitChunks(gpu: Gpu, logits: Float32Array, T: number, V: number, widths: readonly number[]): { logits: Tensor; v0: number; Vc: number }[] {
  let v0 = 0;
  return widths.map((Vc) => {
    const part = new Float32Array(T * Vc);
    for (let t = 0; t < T; t++) part.set(logits.subarray(t * V + v0, t * V + v0 + Vc), t * Vc);
    const c = { logits: upload(gpu, part), v0, Vc };
    v0 += Vc;
    return c;
  });
}
