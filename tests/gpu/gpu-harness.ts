import { afterAll } from 'vitest';
import type { Gpu } from '../../src/core/gpu/gpu.ts';
import { Program } from '../../src/core/gpu/program.ts';
import { readTensor, uploadTensor, type Tensor } from '../../src/core/gpu/tensor.ts';
import { acquireNodeGpu } from '../../src/platform/node-gpu.ts';

let shared: Promise<Gpu> | null = null;

/**
 * One device per test file. A missing adapter fails the test with the reason (never a skip).
 */
export function testGpu(): Promise<Gpu> {
  if (!shared) {
    shared = acquireNodeGpu();
    afterAll(async () => (await shared)?.destroy());
  }
  return shared;
}

/** Deterministic values in [-1, 1) (xorshift), so failures reproduce. */
export function randomArray(n: number, seed = 1, scale = 1): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

export function upload(gpu: Gpu, data: Float32Array | Int32Array | Uint32Array, shape: number[] = [data.length]): Tensor {
  return uploadTensor(gpu, data, shape, 'scratch', 'test');
}

export async function runAndRead(gpu: Gpu, record: (p: Program) => Promise<void>, out: Tensor): Promise<Float32Array> {
  const p = new Program('test');
  await record(p);
  gpu.run(p);
  return readTensor(gpu, out);
}

/** max |got - want| / max |want| (relative to the tensor's largest magnitude). */
export function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} != ${want.length}`);
  let maxErr = 0;
  let maxRef = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (!Number.isFinite(g)) return Infinity;
    maxErr = Math.max(maxErr, Math.abs(g - w));
    maxRef = Math.max(maxRef, Math.abs(w));
  }
  return maxRef === 0 ? maxErr : maxErr / maxRef;
}

/** Central-difference gradient of a float64 scalar function. */
export function numericGrad(f: (x: Float64Array) => number, x0: ArrayLike<number>, h = 1e-5): Float64Array {
  const x = Float64Array.from(x0);
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    x[i] = v + h;
    const up = f(x);
    x[i] = v - h;
    const down = f(x);
    x[i] = v;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** Σ w·y: the scalar whose gradient a backward kernel computes when given dy = w. */
export function dotWith(w: ArrayLike<number>): (y: ArrayLike<number>) => number {
  return (y) => {
    let s = 0;
    for (let i = 0; i < w.length; i++) s += w[i]! * y[i]!;
    return s;
  };
}
