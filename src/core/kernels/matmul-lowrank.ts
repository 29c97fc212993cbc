import epilogue from '../../../shaders/matmul_lowrank.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { packParams, type ParamField } from '../gpu/params.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';

/** One low-rank product added to output columns [col, col + cols): U [M, r] (row stride ldu) times V. */
export interface LowRankTerm {
  readonly col: number;
  readonly cols: number;
  readonly u: Tensor;
  readonly ldu: number;
  /** Element (k, j) of V [r, cols] is at v.offset + j·sVn + k·sVk (B [out, r]: sVn = r, sVk = 1). */
  readonly v: Tensor;
  readonly sVn: number;
  readonly sVk: number;
}

/** The fused LoRA epilogue: C[m, n] += scale · Σ U_t[m, :]·V_t[:, n − col_t] over the terms holding n. */
export interface LowRankEpilogue {
  readonly r: number;
  readonly scale: number;
  /** At most MAX_TERMS; every U in one buffer and every V in one buffer (one binding each). */
  readonly terms: readonly LowRankTerm[];
}

export const MAX_TERMS = 4;

type Binding = GPUBufferBinding | GPUBuffer;

const STORE = /c\[idx\] = (v|out);/g;
const specs = new Map<string, KernelSpec>();

/** `spec` with the epilogue spliced in: its store of C adds lowRank(m, n), its bindings gain three. */
export function withLowRank(spec: KernelSpec): KernelSpec {
  const key = `${spec.name}|${spec.entry}`;
  let fused = specs.get(key);
  if (!fused) {
    const stores = spec.code.match(STORE)?.length ?? 0;
    if (stores !== 1) throw new Error(`${spec.name}: the low-rank epilogue needs exactly one store of C, found ${stores}`);
    const next = spec.bindings.length;
    const tail = epilogue.replaceAll('binding(LR_BINDING_U)', `binding(${next + 1})`).replaceAll('binding(LR_BINDING_V)', `binding(${next + 2})`)
      .replaceAll('binding(LR_BINDING)', `binding(${next})`);
    const code = `${spec.code.replace(STORE, 'c[idx] = $1 + lowRank(m, n);')}\n${tail}`;
    fused = { ...spec, name: `${spec.name}_lowrank`, code, bindings: [...spec.bindings, 'uniform', 'read', 'read'] };
    specs.set(key, fused);
  }
  return fused;
}

/** The three bindings the epilogue adds: its uniform, U's buffer and V's buffer. */
export function lowRankBindings(gpu: Gpu, e: LowRankEpilogue): Binding[] {
  const { terms } = e;
  if (terms.length === 0 || terms.length > MAX_TERMS) throw new Error(`a low-rank epilogue takes 1 to ${MAX_TERMS} terms, got ${terms.length}`);
  if (terms.some((t) => t.u.buffer !== terms[0]!.u.buffer || t.v.buffer !== terms[0]!.v.buffer)) {
    throw new Error('the terms of a low-rank epilogue must share one U buffer and one V buffer');
  }
  const fields: ParamField[] = [[terms.length, 'u32'], [e.r, 'u32'], [e.scale, 'f32'], [0, 'u32']];
  for (let i = 0; i < MAX_TERMS; i++) {
    const t = terms[i];
    fields.push([t?.col ?? 0, 'u32'], [t ? t.col + t.cols : 0, 'u32'], [t?.u.offset ?? 0, 'u32'], [t?.ldu ?? 0, 'u32']);
  }
  for (let i = 0; i < MAX_TERMS; i++) {
    const t = terms[i];
    fields.push([t?.v.offset ?? 0, 'u32'], [t?.sVn ?? 0, 'u32'], [t?.sVk ?? 0, 'u32'], [0, 'u32']);
  }
  return [gpu.uniforms.alloc(packParams(fields)), terms[0]!.u.buffer, terms[0]!.v.buffer];
}

/** Dense CPU operands of one term, for the float64 reference. */
export interface LowRankRefTerm {
  readonly col: number;
  readonly cols: number;
  /** [M, r] row-major. */
  readonly u: ArrayLike<number>;
  /** [cols, r] row-major when `vRowsAreN`, else [r, cols]. */
  readonly v: ArrayLike<number>;
  readonly vRowsAreN: boolean;
}

/** Float64 reference: adds the epilogue to a dense C [M, N]. */
export function lowRankRef(c: Float64Array, M: number, N: number, r: number, scale: number, terms: readonly LowRankRefTerm[]): Float64Array {
  const out = Float64Array.from(c);
  for (const t of terms) {
    for (let m = 0; m < M; m++) {
      for (let j = 0; j < t.cols; j++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += t.u[m * r + k]! * (t.vRowsAreN ? t.v[j * r + k]! : t.v[k * t.cols + j]!);
        out[m * N + t.col + j] += scale * s;
      }
    }
  }
  return out;
}
