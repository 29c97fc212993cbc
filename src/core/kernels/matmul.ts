import code from '../../../shaders/matmul.wgsl';
import ntCode from '../../../shaders/matmul_nt.wgsl';
import tiledCode from '../../../shaders/matmul_tiled.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { packParams } from '../gpu/params.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';

const SPEC: KernelSpec = { name: 'matmul', code, entry: 'main', bindings: ['uniform', 'read', 'read', 'rw', 'read'] };
const NT_SPEC: KernelSpec = { ...SPEC, name: 'matmul_nt', code: ntCode };
const TILED_SPEC: KernelSpec = { ...SPEC, name: 'matmul_tiled', code: tiledCode };

/**
 * Which matmul a shape gets. GPUs: the 64x64 workgroup tile for shapes that fill it (on an H200
 * a large tile ran 5x the 4x4 kernel, gpu-device.md). CPU drivers: register blocking, and vec4
 * loads for A·Bᵀ (2-3x there; barriers and workgroup memory are slow on them).
 */
export function useTiled(gpu: Gpu, M: number, N: number, K: number): boolean {
  return (gpu.tuning.tiledMatmul ?? !gpu.adapter.software) && M >= 64 && N >= 64 && K >= 32;
}

export interface MatmulArgs {
  /** op(A) is [M, K]: A is stored [M, K], or [K, M] when transA. */
  readonly a: Tensor;
  readonly transA?: boolean;
  /** op(B) is [K, N]: B is stored [K, N], or [N, K] when transB (nn.Linear weights). */
  readonly b: Tensor;
  readonly transB?: boolean;
  /** C is [M, N] row-major (per batch). */
  readonly c: Tensor;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  /** Row strides of A, B and C as stored (defaults: dense); a column slice of a wider matrix sets these. */
  readonly lda?: number;
  readonly ldb?: number;
  readonly ldc?: number;
  readonly batch?: number;
  /** Element strides between batches; 0 broadcasts (a shared weight). Defaults: dense. */
  readonly batchStrideA?: number;
  readonly batchStrideB?: number;
  readonly batchStrideC?: number;
  readonly bias?: Tensor;
  readonly alpha?: number;
  /** 1 accumulates into C (gradients, residual adds); 0 overwrites. */
  readonly beta?: number;
}

/** Records C = alpha·op(A)·op(B) + beta·C (+ bias over N). */
export async function matmul(gpu: Gpu, program: Program, x: MatmulArgs): Promise<void> {
  const { M, N, K } = x;
  const batch = x.batch ?? 1;
  if (M <= 0 || N <= 0 || batch <= 0) return;
  const lda = x.lda ?? (x.transA ? M : K);
  const ldb = x.ldb ?? (x.transB ? K : N);
  const ldc = x.ldc ?? N;
  const sA = x.batchStrideA ?? M * K;
  const sB = x.batchStrideB ?? K * N;
  const sC = x.batchStrideC ?? M * N;
  const bindings = [x.a.buffer, x.b.buffer, x.c.buffer, x.bias?.buffer ?? gpu.placeholder];
  const grid = [Math.ceil(N / 32), Math.ceil(M / 32), batch] as const;
  // A·Bᵀ with K a multiple of 4 and aligned operands reads both sides as vec4 (2-3x faster).
  const tiled = useTiled(gpu, M, N, K);
  if (!tiled && !x.transA && x.transB && [K, lda, ldb, x.a.offset, x.b.offset, sA, sB].every((v) => v % 4 === 0)) {
    const nt = packParams([
      [M, 'u32'], [N, 'u32'], [K / 4, 'u32'], [x.bias ? 1 : 0, 'u32'],
      [x.a.offset / 4, 'u32'], [sA / 4, 'u32'], [x.b.offset / 4, 'u32'], [sB / 4, 'u32'],
      [x.c.offset, 'u32'], [sC, 'u32'], [x.bias?.offset ?? 0, 'u32'], [ldc, 'u32'],
      [lda / 4, 'u32'], [ldb / 4, 'u32'], [x.alpha ?? 1, 'f32'], [x.beta ?? 0, 'f32'],
    ]);
    await gpu.record(program, NT_SPEC, [gpu.uniforms.alloc(nt), ...bindings], grid);
    return;
  }
  const params = packParams([
    [M, 'u32'], [N, 'u32'], [K, 'u32'], [x.bias ? 1 : 0, 'u32'],
    [x.transA ? 1 : lda, 'u32'], [x.transA ? lda : 1, 'u32'], [sA, 'u32'], [x.a.offset, 'u32'],
    [x.transB ? 1 : ldb, 'u32'], [x.transB ? ldb : 1, 'u32'], [sB, 'u32'], [x.b.offset, 'u32'],
    [ldc, 'u32'], [sC, 'u32'], [x.c.offset, 'u32'], [x.bias?.offset ?? 0, 'u32'],
    [x.alpha ?? 1, 'f32'], [x.beta ?? 0, 'f32'],
  ]);
  if (tiled) {
    await gpu.record(program, TILED_SPEC, [gpu.uniforms.alloc(params), ...bindings], [Math.ceil(N / 64), Math.ceil(M / 64), batch]);
    return;
  }
  await gpu.record(program, SPEC, [gpu.uniforms.alloc(params), ...bindings], grid);
}

export interface MatmulRefOptions {
  transA?: boolean;
  transB?: boolean;
  batch?: number;
  bias?: ArrayLike<number>;
  alpha?: number;
  beta?: number;
  c?: ArrayLike<number>;
}

/** Float64 reference of `matmul` on dense CPU arrays. */
export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, M: number, N: number, K: number, o: MatmulRefOptions = {}): Float64Array {
  const batch = o.batch ?? 1;
  const out = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = o.transA ? a[z * M * K + k * M + m]! : a[z * M * K + m * K + k]!;
          const bv = o.transB ? b[z * K * N + n * K + k]! : b[z * K * N + k * N + n]!;
          s += av * bv;
        }
        const i = z * M * N + m * N + n;
        out[i] = (o.alpha ?? 1) * s + (o.bias ? o.bias[n]! : 0) + (o.beta ? o.beta * o.c![i]! : 0);
      }
    }
  }
  return out;
}
