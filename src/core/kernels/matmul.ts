import code from '../../../shaders/matmul.wgsl';
import ntCode from '../../../shaders/matmul_nt.wgsl';
import tiledCode from '../../../shaders/matmul_tiled.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { packParams, type ParamField } from '../gpu/params.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { BLOCKED, blockedSharedBytes, blockedSpec, isMatmulKernel, MATMUL_KERNELS, type MatmulKernel } from './matmul-configs.ts';
import { withEpilogue, type MatmulEpilogue } from './matmul-epilogue.ts';
import { withNormedOperands, type NormedOperand } from './matmul-prologue.ts';
import { timeProduct } from './matmul-timing.ts';
import { candidates, matmulTuner, shapeClass } from './matmul-tune.ts';

const SPEC: KernelSpec = { name: 'matmul', code, entry: 'main', bindings: ['uniform', 'read', 'read', 'rw', 'read'] };
const NT_SPEC: KernelSpec = { ...SPEC, name: 'matmul_nt', code: ntCode };
const TILED_SPEC: KernelSpec = { ...SPEC, name: 'matmul_tiled', code: tiledCode };

/** Whether a blocked tile fits the adapter's workgroup limits. */
function fits(gpu: Gpu, name: keyof typeof BLOCKED): boolean {
  const t = BLOCKED[name]!;
  return blockedSharedBytes(t) <= gpu.limits.maxComputeWorkgroupStorageSize && (t.bm / t.tm) * (t.bn / t.tn) <= gpu.limits.maxComputeInvocationsPerWorkgroup;
}

/**
 * The fixed table used when autotuning is off. CPU drivers: register blocking without workgroup
 * memory (barriers and workgroup memory are slow there, webgpu-here.md). GPUs: the largest
 * register-blocked tile the shape fills (on an H200 a 128x128 tile with 8x8 per invocation ran
 * 5x the 4x4 kernel, gpu-device.md). `gpu.tuning` forces a kernel (tests, benchmarks).
 */
export function fallbackKernel(gpu: Gpu, M: number, N: number, K: number): MatmulKernel {
  const forced = gpu.tuning.matmul;
  if (forced !== undefined) {
    if (!isMatmulKernel(forced)) throw new Error(`unknown matmul kernel "${forced}" (${MATMUL_KERNELS.join(', ')})`);
    return forced;
  }
  const tiled = gpu.tuning.tiledMatmul ?? !gpu.adapter.software;
  if (!tiled) return 'reg4';
  if (gpu.tuning.tiledMatmul) return M >= 64 && N >= 64 && K >= 32 ? 'tile64' : 'reg4';
  if (M >= 128 && N >= 128 && K >= 64 && fits(gpu, 'b128x128')) return 'b128x128';
  if (M >= 64 && N >= 64 && K >= 32 && fits(gpu, 'b64x64')) return 'b64x64';
  return 'reg4';
}

/** The kernel a product gets: forced, tuned at first use per shape class when a host enabled it, else the table. */
export async function chooseKernel(gpu: Gpu, M: number, N: number, K: number, transA: boolean, transB: boolean): Promise<MatmulKernel> {
  const tuner = matmulTuner(gpu);
  if (!tuner || gpu.tuning.matmul !== undefined || gpu.tuning.tiledMatmul !== undefined) return fallbackKernel(gpu, M, N, K);
  const c = shapeClass(M, N, K, transA, transB);
  return tuner.choose(c, candidates(gpu, c), (kernel) => timeProduct(gpu, c, (program, a, b, out) =>
    recordKernel(gpu, program, { a, b, c: out, M: c.M, N: c.N, K: c.K, transA, transB }, kernel)));
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
  /** Fused LoRA products and activations applied as C is stored (batch 1 only). */
  readonly epilogue?: MatmulEpilogue;
  /** A or B read through a norm (matmul-prologue.ts; batch 1 only): the operand tensor is the norm's input. */
  readonly normA?: NormedOperand;
  readonly normB?: NormedOperand;
}

/** Records C = alpha·op(A)·op(B) + beta·C (+ bias over N). */
export async function matmul(gpu: Gpu, program: Program, x: MatmulArgs): Promise<void> {
  if (x.M <= 0 || x.N <= 0 || (x.batch ?? 1) <= 0) return;
  await recordKernel(gpu, program, x, await chooseKernel(gpu, x.M, x.N, x.K, x.transA === true, x.transB === true));
}

/** Records the product with one given kernel. */
export async function recordKernel(gpu: Gpu, program: Program, x: MatmulArgs, kernel: MatmulKernel): Promise<void> {
  const { M, N, K } = x;
  const batch = x.batch ?? 1;
  const lda = x.lda ?? (x.transA ? M : K);
  const ldb = x.ldb ?? (x.transB ? K : N);
  const ldc = x.ldc ?? N;
  const sA = x.batchStrideA ?? M * K;
  const sB = x.batchStrideB ?? K * N;
  const sC = x.batchStrideC ?? M * N;
  const bindings = [x.a.buffer, x.b.buffer, x.c.buffer, x.bias?.buffer ?? gpu.placeholder];
  const grid = [Math.ceil(N / 32), Math.ceil(M / 32), batch] as const;
  if ((x.epilogue || x.normA || x.normB) && batch !== 1) throw new Error('a matmul epilogue or normed operand needs batch 1');
  const record = (spec: KernelSpec, params: ArrayBuffer, workgroups: readonly [number, number, number]) => {
    const e = withEpilogue(gpu, spec, [gpu.uniforms.alloc(params), ...bindings], x.epilogue);
    const f = withNormedOperands(gpu, e.spec, e.bindings, { a: x.normA, b: x.normB });
    return gpu.record(program, f.spec, f.bindings, workgroups);
  };
  // A·Bᵀ with K a multiple of 4 and aligned operands reads both sides as vec4 (2-3x faster).
  if (kernel === 'reg4' && !x.transA && x.transB && [K, lda, ldb, x.a.offset, x.b.offset, sA, sB].every((v) => v % 4 === 0)) {
    const nt = packParams([
      [M, 'u32'], [N, 'u32'], [K / 4, 'u32'], [x.bias ? 1 : 0, 'u32'],
      [x.a.offset / 4, 'u32'], [sA / 4, 'u32'], [x.b.offset / 4, 'u32'], [sB / 4, 'u32'],
      [x.c.offset, 'u32'], [sC, 'u32'], [x.bias?.offset ?? 0, 'u32'], [ldc, 'u32'],
      [lda / 4, 'u32'], [ldb / 4, 'u32'], [x.alpha ?? 1, 'f32'], [x.beta ?? 0, 'f32'],
    ]);
    await record(NT_SPEC, nt, grid);
    return;
  }
  const fields: ParamField[] = [
    [M, 'u32'], [N, 'u32'], [K, 'u32'], [x.bias ? 1 : 0, 'u32'],
    [x.transA ? 1 : lda, 'u32'], [x.transA ? lda : 1, 'u32'], [sA, 'u32'], [x.a.offset, 'u32'],
    [x.transB ? 1 : ldb, 'u32'], [x.transB ? ldb : 1, 'u32'], [sB, 'u32'], [x.b.offset, 'u32'],
    [ldc, 'u32'], [sC, 'u32'], [x.c.offset, 'u32'], [x.bias?.offset ?? 0, 'u32'],
    [x.alpha ?? 1, 'f32'], [x.beta ?? 0, 'f32'],
  ];
  if (kernel === 'tile64') {
    await record(TILED_SPEC, packParams(fields), [Math.ceil(N / 64), Math.ceil(M / 64), batch]);
    return;
  }
  if (kernel === 'reg4') {
    await record(SPEC, packParams(fields), grid);
    return;
  }
  // Blocked tiles load a side as vec4 when it is contiguous along the loaded dimension and aligned.
  const aligned = (...v: number[]) => v.every((n) => n % 4 === 0);
  const modeA = aligned(lda, x.a.offset, sA) ? (x.transA ? 2 : 1) : 0;
  const modeB = aligned(ldb, x.b.offset, sB) ? (x.transB ? 2 : 1) : 0;
  const t = BLOCKED[kernel]!;
  const params = packParams([...fields, [modeA, 'u32'], [modeB, 'u32']]);
  await record(blockedSpec(kernel), params, [Math.ceil(N / t.bn), Math.ceil(M / t.bm), batch]);
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
