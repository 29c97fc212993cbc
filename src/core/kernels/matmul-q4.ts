import code from '../../../shaders/matmul_q4.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { packParams } from '../gpu/params.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { withNormedOperands, type NormedOperand } from './matmul-prologue.ts';

/**
 * A 4-bit base (`--quant int4`) as QLoRA holds it: NF4 codes with one absmax scale per group of 64
 * inputs. NF4 rather than symmetric int4 because pretrained weights are close to normal: its 16
 * levels are N(0, 1) quantiles, so the same 4 bits lose less than evenly spaced levels (QLoRA,
 * Dettmers et al. 2023), and the kernel pays only a 16-entry table lookup instead of a sign
 * extension. It is also what bitsandbytes/PEFT users mean by a QLoRA base. Scales stay f32 (no
 * double quantisation): 4.5 bits per weight.
 */
export const Q4_GROUP = 64;
const WORDS_PER_GROUP = Q4_GROUP / 8;

/** bitsandbytes' NF4 code book; code 7 is exactly zero (it also pads rows to whole groups). */
export const NF4 = Float32Array.of(
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
);
const ZERO_CODE = 7;
const MIDPOINTS = Array.from({ length: 15 }, (_, i) => (NF4[i]! + NF4[i + 1]!) / 2);

const BINDINGS = ['uniform', 'read', 'read', 'rw', 'read', 'read'] as const;
const NT: KernelSpec = { name: 'matmul_q4', code, entry: 'nt', bindings: BINDINGS };
const NN: KernelSpec = { name: 'matmul_q4', code, entry: 'nn', bindings: BINDINGS };

/** An NF4 weight [out, in]: rows of `groups(in) · 8` words and `groups(in)` scales. */
export interface Q4Weight {
  /** Words; `offset` is in u32 units. */
  readonly q4: Tensor;
  readonly scale: Tensor;
  readonly out: number;
  readonly in: number;
}

export const q4Groups = (cols: number): number => Math.ceil(cols / Q4_GROUP);
export const q4WordsPerRow = (cols: number): number => q4Groups(cols) * WORDS_PER_GROUP;

/** The nearest NF4 code of v in [-1, 1] (ties to the lower code, as a midpoint search gives). */
function nearestCode(v: number): number {
  let lo = 0;
  let hi = 15;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v > MIDPOINTS[mid]!) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Per-group absmax NF4 quantisation on the CPU: w ≈ NF4[code] · scale[row, group]. */
export function quantizeNf4(w: Float32Array, rows: number, cols: number): { words: Uint32Array; scales: Float32Array } {
  const groups = q4Groups(cols);
  const wpr = groups * WORDS_PER_GROUP;
  const words = new Uint32Array(rows * wpr);
  const scales = new Float32Array(rows * groups);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      const c0 = g * Q4_GROUP;
      const c1 = Math.min(cols, c0 + Q4_GROUP);
      let max = 0;
      for (let c = c0; c < c1; c++) max = Math.max(max, Math.abs(w[r * cols + c]!));
      scales[r * groups + g] = max;
      for (let j = 0; j < Q4_GROUP; j++) {
        const c = c0 + j;
        const code = c < cols && max > 0 ? nearestCode(w[r * cols + c]! / max) : ZERO_CODE;
        const at = r * wpr + (c >> 3);
        words[at] = (words[at]! | (code << (4 * (c & 7)))) >>> 0;
      }
    }
  }
  return { words, scales };
}

export function dequantizeNf4(words: Uint32Array, scales: Float32Array, rows: number, cols: number): Float32Array {
  const groups = q4Groups(cols);
  const wpr = groups * WORDS_PER_GROUP;
  const w = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const code = (words[r * wpr + (c >> 3)]! >>> (4 * (c & 7))) & 15;
      w[r * cols + c] = NF4[code]! * scales[r * groups + Math.floor(c / Q4_GROUP)]!;
    }
  }
  return w;
}

function fields(
  M: number, N: number, K: number, a: Tensor, lda: number, w: Q4Weight, c: Tensor, ldc: number, bias: Tensor | undefined, alpha: number, beta: number,
) {
  return packParams([
    [M, 'u32'], [N, 'u32'], [K, 'u32'], [bias ? 1 : 0, 'u32'],
    [a.offset, 'u32'], [lda, 'u32'], [w.q4.offset, 'u32'], [q4WordsPerRow(w.in), 'u32'],
    [c.offset, 'u32'], [ldc, 'u32'], [w.scale.offset, 'u32'], [bias?.offset ?? 0, 'u32'],
    [alpha, 'f32'], [beta, 'f32'], [q4Groups(w.in), 'u32'], [0, 'u32'],
  ]);
}

/** y (+)= x Wᵀ (+ b) for x [T, in] and an NF4 W [out, in]. */
export function matmulQ4Forward(
  gpu: Gpu, program: Program, T: number, x: Tensor, lda: number, w: Q4Weight, y: Tensor, ldc: number,
  o: { bias?: Tensor; alpha?: number; beta?: number; norm?: NormedOperand } = {},
): Promise<void> {
  const u = gpu.uniforms.alloc(fields(T, w.out, w.in, x, lda, w, y, ldc, o.bias, o.alpha ?? 1, o.beta ?? 0));
  const d = withNormedOperands(gpu, NT, [u, x.buffer, w.q4.buffer, y.buffer, w.scale.buffer, o.bias?.buffer ?? gpu.placeholder], { a: o.norm });
  return gpu.record(program, d.spec, d.bindings, [Math.ceil(w.out / 32), Math.ceil(T / 32)]);
}

/** dx (+)= dy W for dy [T, out] and an NF4 W [out, in]. */
export function matmulQ4Input(gpu: Gpu, program: Program, T: number, dy: Tensor, lda: number, w: Q4Weight, dx: Tensor, ldc: number, beta = 0): Promise<void> {
  const u = gpu.uniforms.alloc(fields(T, w.in, w.out, dy, lda, w, dx, ldc, undefined, 1, beta));
  return gpu.record(program, NN, [u, dy.buffer, w.q4.buffer, dx.buffer, w.scale.buffer, gpu.placeholder], [Math.ceil(w.in / 64), Math.ceil(T / 32)]);
}
