import code from '../../../shaders/matmul_f16.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { packParams } from '../gpu/params.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { withEpilogue, type MatmulEpilogue } from './matmul-epilogue.ts';
import { withNormedOperands, type NormedOperand } from './matmul-prologue.ts';

const BINDINGS = ['uniform', 'read', 'read', 'rw', 'read'] as const;
const NT: KernelSpec = { name: 'matmul_f16', code, entry: 'nt', bindings: BINDINGS };
const NN: KernelSpec = { name: 'matmul_f16', code, entry: 'nn', bindings: BINDINGS };

/** A half-precision weight [out, in], two halves per u32 word: `h.offset` is in words, rows of in/2 words. */
export interface F16Weight {
  readonly h: Tensor;
  readonly out: number;
  readonly in: number;
}

/** IEEE binary16 bits of x, rounded to nearest even (overflow to ±Infinity, as a GPU's f32→f16 does). */
export function halfBits(x: number): number {
  const f = new Float32Array([x]);
  const bits = new Uint32Array(f.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the full significand, round to nearest even.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let v = m >>> shift;
    if (rest > half || (rest === half && v & 1)) v++;
    return sign | v;
  }
  let v = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && v & 1)) v++;
  return sign | v;
}

/** Float value of binary16 bits. */
export function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** f32 values → halves packed two per word (the first in the low half); `values.length` must be even. */
export function packHalves(values: ArrayLike<number>): Uint32Array {
  if (values.length % 2) throw new Error(`f16 packing needs an even count (got ${values.length})`);
  const out = new Uint32Array(values.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (halfBits(values[2 * i]!) | (halfBits(values[2 * i + 1]!) << 16)) >>> 0;
  return out;
}

export function unpackHalves(words: Uint32Array, count = words.length * 2): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = halfValue((words[i >> 1]! >>> (16 * (i & 1))) & 0xffff);
  return out;
}

interface Operands {
  readonly a: Tensor;
  readonly lda: number;
  readonly c: Tensor;
  readonly ldc: number;
  readonly bias?: Tensor;
  readonly alpha: number;
  readonly beta: number;
}

function fields(M: number, N: number, K: number, w: F16Weight, { a, lda, c, ldc, bias, alpha, beta }: Operands) {
  if (w.in % 4 || w.h.offset % 2) throw new Error(`f16 weight [${w.out}, ${w.in}]: in_features % 4 and the word offset % 2 must be 0`);
  return packParams([
    [M, 'u32'], [N, 'u32'], [K, 'u32'], [bias ? 1 : 0, 'u32'],
    [a.offset, 'u32'], [lda, 'u32'], [w.h.offset / 2, 'u32'], [w.in / 4, 'u32'],
    [c.offset, 'u32'], [ldc, 'u32'], [bias?.offset ?? 0, 'u32'], [0, 'u32'],
    [alpha, 'f32'], [beta, 'f32'], [0, 'u32'], [0, 'u32'],
  ]);
}

/** y (+)= x Wᵀ (+ b) for x [T, in] (f32) and an f16 W [out, in], accumulated in f32. */
export function matmulF16Forward(
  gpu: Gpu, program: Program, T: number, x: Tensor, lda: number, w: F16Weight, y: Tensor, ldc: number,
  o: { bias?: Tensor; alpha?: number; beta?: number; epilogue?: MatmulEpilogue; norm?: NormedOperand } = {},
): Promise<void> {
  const f = fields(T, w.out, w.in, w, { a: x, lda, c: y, ldc, bias: o.bias, alpha: o.alpha ?? 1, beta: o.beta ?? 0 });
  const e = withEpilogue(gpu, NT, [gpu.uniforms.alloc(f), x.buffer, w.h.buffer, y.buffer, o.bias?.buffer ?? gpu.placeholder], o.epilogue);
  const d = withNormedOperands(gpu, e.spec, e.bindings, { a: o.norm });
  return gpu.record(program, d.spec, d.bindings, [Math.ceil(w.out / 32), Math.ceil(T / 32)]);
}

/** dx (+)= dy W for dy [T, out] (f32) and an f16 W [out, in], accumulated in f32. */
export function matmulF16Input(
  gpu: Gpu, program: Program, T: number, dy: Tensor, lda: number, w: F16Weight, dx: Tensor, ldc: number, beta = 0,
  epilogue?: MatmulEpilogue,
): Promise<void> {
  const f = fields(T, w.in, w.out, w, { a: dy, lda, c: dx, ldc, alpha: 1, beta });
  const d = withEpilogue(gpu, NN, [gpu.uniforms.alloc(f), dy.buffer, w.h.buffer, dx.buffer, gpu.placeholder], epilogue);
  return gpu.record(program, d.spec, d.bindings, [Math.ceil(w.in / 32), Math.ceil(T / 32)]);
}
