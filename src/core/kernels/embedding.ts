import code from '../../../shaders/embedding.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { packParams, type ParamField } from '../gpu/params.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { launch1d } from './launch.ts';

const BINDINGS = ['uniform', 'read', 'read', 'rw'] as const;
const FORWARD: KernelSpec = { name: 'embedding', code, entry: 'forward', bindings: BINDINGS };
const BACKWARD: KernelSpec = { name: 'embedding', code, entry: 'backward', bindings: BINDINGS };

/** A table [rows, D] holding rows [rowStart, rowStart + rows) of a possibly split embedding. */
export interface EmbeddingChunk {
  readonly table: Tensor;
  readonly rowStart: number;
  readonly rows: number;
}

function fields(T: number, D: number, c: EmbeddingChunk, out: Tensor, ids: Tensor, accumulate: boolean): ParamField[] {
  return [
    [T, 'u32'], [D, 'u32'], [c.rowStart, 'u32'], [c.rows, 'u32'],
    [c.table.offset, 'u32'], [out.offset, 'u32'], [ids.offset, 'u32'], [accumulate ? 1 : 0, 'u32'],
  ];
}

/** out [T, D] (+)= table[ids]. With a split table, call once per chunk; the first overwrites. */
export async function embeddingForward(
  gpu: Gpu, program: Program, ids: Tensor, chunks: readonly EmbeddingChunk[], out: Tensor, T: number, D: number, accumulate = false,
): Promise<void> {
  for (const [i, c] of chunks.entries()) {
    await launch1d(gpu, program, FORWARD, fields(T, D, c, out, ids, accumulate || i > 0), [ids.buffer, c.table.buffer, out.buffer], T * D);
  }
}

/** dTable[ids[t]] += dOut[t] for every chunk. */
export async function embeddingBackward(
  gpu: Gpu, program: Program, ids: Tensor, dOut: Tensor, dChunks: readonly EmbeddingChunk[], T: number, D: number,
): Promise<void> {
  for (const c of dChunks) {
    const params = gpu.uniforms.alloc(packParams(fields(T, D, c, dOut, ids, true)));
    await gpu.record(program, BACKWARD, [params, ids.buffer, dOut.buffer, c.table.buffer], [Math.ceil(D / 64)]);
  }
}

export function embeddingRef(ids: ArrayLike<number>, table: ArrayLike<number>, D: number): Float64Array {
  const out = new Float64Array(ids.length * D);
  for (let t = 0; t < ids.length; t++) for (let d = 0; d < D; d++) out[t * D + d] = table[ids[t]! * D + d]!;
  return out;
}
