import type { Gpu } from './gpu.ts';
import type { Purpose } from './ledger.ts';

/**
 * An f32 array on the GPU: a whole buffer or a range of one. Kernels bind whole buffers and take
 * `offset` (in elements) as a uniform, so views never meet binding-offset alignment rules.
 */
export interface Tensor {
  readonly buffer: GPUBuffer;
  /** Offset in elements. */
  readonly offset: number;
  readonly shape: readonly number[];
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tensorOf(buffer: GPUBuffer, shape: readonly number[], offset = 0): Tensor {
  return { buffer, offset, shape };
}

/** A view of `shape` starting `elements` past the start of `t`. */
export function viewOf(t: Tensor, shape: readonly number[], elements = 0): Tensor {
  return { buffer: t.buffer, offset: t.offset + elements, shape };
}

export function allocTensor(gpu: Gpu, shape: readonly number[], purpose: Purpose, label: string): Tensor {
  return tensorOf(gpu.createBuffer(numel(shape) * 4, purpose, label), shape);
}

export function uploadTensor(gpu: Gpu, data: Float32Array | Int32Array | Uint32Array, shape: readonly number[], purpose: Purpose, label: string): Tensor {
  if (data.length !== numel(shape)) throw new Error(`${label}: ${data.length} values for shape [${shape}]`);
  return tensorOf(gpu.upload(data, purpose, label), shape);
}

export async function readTensor(gpu: Gpu, t: Tensor): Promise<Float32Array> {
  return gpu.readF32(t.buffer, t.offset * 4, numel(t.shape));
}
