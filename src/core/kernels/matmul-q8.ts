import code from '../../../shaders/matmul_q8.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { packParams } from '../gpu/params.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { withNormedOperands, type NormedOperand } from './matmul-prologue.ts';

const BINDINGS = ['uniform', 'read', 'read', 'rw', 'read', 'read'] as const;
const NT: KernelSpec = { name: 'matmul_q8', code, entry: 'nt', bindings: BINDINGS };
const NN: KernelSpec = { name: 'matmul_q8', code, entry: 'nn', bindings: BINDINGS };

/** An int8 weight [out, in] packed four per u32 along `in`, with one f32 scale per output row. */
export interface Q8Weight {
  /** Words: `offset` is in u32 units, rows of in/4 words. */
  readonly q: Tensor;
  readonly scale: Tensor;
  readonly out: number;
  readonly in: number;
}

/** Per-row absmax int8 quantisation on the CPU: w ≈ scale[row] · q. */
export function quantizeRows(w: Float32Array, rows: number, cols: number): { words: Uint32Array; scales: Float32Array } {
  if (cols % 4) throw new Error(`int8 weights need in_features % 4 == 0 (got ${cols})`);
  const words = new Uint32Array((rows * cols) / 4);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(w[r * cols + c]!));
    const s = max > 0 ? max / 127 : 1;
    scales[r] = s;
    for (let c = 0; c < cols; c += 4) {
      let word = 0;
      for (let j = 0; j < 4; j++) word |= (Math.max(-127, Math.min(127, Math.round(w[r * cols + c + j]! / s))) & 0xff) << (8 * j);
      words[(r * cols + c) / 4] = word >>> 0;
    }
  }
  return { words, scales };
}

export function dequantizeRows(words: Uint32Array, scales: Float32Array, rows: number, cols: number): Float32Array {
  const w = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const byte = (words[(r * cols + c) >> 2]! >>> (8 * (c & 3))) & 0xff;
      w[r * cols + c] = (byte > 127 ? byte - 256 : byte) * scales[r]!;
    }
  }
  return w;
}

function fields(
  M: number, N: number, K: number, a: Tensor, lda: number, w: Q8Weight, c: Tensor, ldc: number,
  bias: Tensor | undefined, alpha: number, beta: number,
) {
  return packParams([
    [M, 'u32'], [N, 'u32'], [K, 'u32'], [bias ? 1 : 0, 'u32'],
    [a.offset, 'u32'], [lda, 'u32'], [w.q.offset, 'u32'], [w.in / 4, 'u32'],
    [c.offset, 'u32'], [ldc, 'u32'], [w.scale.offset, 'u32'], [bias?.offset ?? 0, 'u32'],
    [alpha, 'f32'], [beta, 'f32'], [0, 'u32'], [0, 'u32'],
  ]);
}

/** y (+)= x Wᵀ (+ b) for x [T, in] and an int8 W [out, in]. */
export function matmulQ8Forward(
  gpu: Gpu, program: Program, T: number, x: Tensor, lda: number, w: Q8Weight, y: Tensor, ldc: number,
  o: { bias?: Tensor; alpha?: number; beta?: number; norm?: NormedOperand } = {},
): Promise<void> {
  const params = gpu.uniforms.alloc(fields(T, w.out, w.in, x, lda, w, y, ldc, o.bias, o.alpha ?? 1, o.beta ?? 0));
  const d = withNormedOperands(gpu, NT, [params, x.buffer, w.q.buffer, y.buffer, w.scale.buffer, o.bias?.buffer ?? gpu.placeholder], { a: o.norm });
  return gpu.record(program, d.spec, d.bindings, [Math.ceil(w.out / 32), Math.ceil(T / 32)]);
}

/** dx (+)= dy W for dy [T, out] and an int8 W [out, in]. */
export function matmulQ8Input(gpu: Gpu, program: Program, T: number, dy: Tensor, lda: number, w: Q8Weight, dx: Tensor, ldc: number, beta = 0): Promise<void> {
  const params = gpu.uniforms.alloc(fields(T, w.in, w.out, dy, lda, w, dx, ldc, undefined, 1, beta));
  const buffers = [params, dy.buffer, w.q.buffer, dx.buffer, w.scale.buffer, gpu.placeholder];
  return gpu.record(program, NN, buffers, [Math.ceil(w.in / 32), Math.ceil(T / 32)]);
}
