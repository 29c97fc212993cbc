import code from '../../../shaders/adamw.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { launch1d } from './launch.ts';

const UPDATE: KernelSpec = { name: 'adamw', code, entry: 'update', bindings: ['uniform', 'rw', 'read', 'rw', 'rw', 'read'] };

export interface AdamWHyper {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Global L2 clip (clip_grad_norm_); 0 disables. */
  readonly maxNorm: number;
}

/**
 * Updates n parameters at `param` from `grad`, with moments m and v at `state` offsets in their own
 * buffers; the learning rate is the step's times `lrScale` (a parameter group's multiple).
 */
export function adamwUpdate(
  gpu: Gpu, program: Program, h: AdamWHyper, n: number, param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: Tensor, lrScale = 1,
): Promise<void> {
  if (m.offset !== v.offset) throw new Error('adamw: m and v must share offsets');
  return launch1d(
    gpu, program, UPDATE,
    [
      [n, 'u32'], [param.offset, 'u32'], [grad.offset, 'u32'], [m.offset, 'u32'], [h.beta1, 'f32'], [h.beta2, 'f32'], [h.eps, 'f32'],
      [h.weightDecay, 'f32'], [h.maxNorm, 'f32'], [lrScale, 'f32'], [0, 'u32'], [0, 'u32'],
    ],
    [param.buffer, grad.buffer, m.buffer, v.buffer, step.buffer],
    n,
  );
}

/** Float64 reference of one torch.optim.AdamW step (grads already clipped), in place. */
export function adamwRef(p: Float64Array, g: ArrayLike<number>, m: Float64Array, v: Float64Array, t: number, lr: number, h: AdamWHyper): void {
  const bc1 = 1 - h.beta1 ** t;
  const bc2 = 1 - h.beta2 ** t;
  for (let i = 0; i < p.length; i++) {
    p[i] = p[i]! * (1 - lr * h.weightDecay);
    m[i] = h.beta1 * m[i]! + (1 - h.beta1) * g[i]!;
    v[i] = h.beta2 * v[i]! + (1 - h.beta2) * g[i]! ** 2;
    p[i] = p[i]! - (lr / bc1) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + h.eps));
  }
}
