import main from '../../../shaders/attention_tiled.wgsl';
import plainIo from '../../../shaders/attention_tiled_qkv.wgsl';
import ropeIo from '../../../shaders/attention_tiled_rope.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { AttentionArgs, AttentionBackwardArgs } from './attention-args.ts';

/** Rows per workgroup (one per invocation): queries for the forward and dQ, keys for dK and dV. */
const WG = 64;
/**
 * Head dims up to 64 get loops with a constant trip count, fully unrolled, so the per-invocation rows
 * live in registers (about 3x faster on lavapipe); wider ones keep a runtime bound, since unrolling
 * 33..64 vec4 loops costs minutes of shader compilation on CPU drivers.
 */
const UNROLL_MAX_HD4 = 16;
/** The kernels' source with Q/K/V read as they are, or rotated by RoPE as they load (attention_tiled_rope.wgsl). */
const CODE = { plain: `${main}\n${plainIo}`, rope: `${main}\n${ropeIo}` };
const variants = new Map<string, { name: string; code: string }>();
/** Built once per head_dim and RoPE choice: every layer of every step asks again. */
function variant(headDim: number, rope: boolean): { name: string; code: string } {
  const key = `${headDim}|${rope}`;
  let v = variants.get(key);
  if (!v) variants.set(key, (v = buildVariant(headDim, rope)));
  return v;
}
function buildVariant(headDim: number, rope: boolean): { name: string; code: string } {
  const hd4 = headDim / 4;
  const [name, code] = rope ? ['attention_tiled_rope', CODE.rope] : ['attention_tiled', CODE.plain];
  if (hd4 <= UNROLL_MAX_HD4) return { name: `${name}_hd${headDim}`, code: code.replace('const MAXV = 32u;', `const MAXV = ${hd4}u;`) };
  const maxv = hd4 <= 32 ? 32 : 64;
  return {
    name: `${name}_v${maxv}`,
    code: code.replace('const MAXV = 32u;', `const MAXV = ${maxv}u;`).replaceAll('c < HD4; c++', 'c < p.hd4; c++')
      .replaceAll('c < HD4 / 2u; c++', 'c < p.hd4 / 2u; c++'),
  };
}
const MAX_TILE = 64;

/**
 * Whether attention uses the tiled kernels. `gpu.tuning.tiledAttention` false keeps the per-row
 * kernels of attention.wgsl (the reference path), true forces the tiles; unset means tiles, except
 * on CPU drivers for head dims above 64, where the runtime-bound loops keep the rows in memory and
 * the per-row kernels are faster (lavapipe, head_dim 128: 196 against 275 ms CPU per backward).
 * Never when the adapter's workgroup memory cannot hold one row of each streamed operand.
 */
export function useTiledAttention(gpu: Gpu, headDim: number): boolean {
  if (gpu.tuning.tiledAttention === false || attentionTile(gpu, headDim) === 0) return false;
  return gpu.tuning.tiledAttention === true || !gpu.adapter.software || headDim / 4 <= UNROLL_MAX_HD4;
}

/**
 * Workgroup memory of the kernels at `tile` rows: two [tile, head_dim] f32 tiles, lse and delta per
 * row, and the three span variables; WebGPU counts each variable rounded up to 16 bytes.
 */
export function attentionWorkgroupBytes(headDim: number, tile: number): number {
  const round16 = (n: number) => Math.ceil(n / 16) * 16;
  return 2 * tile * headDim * 4 + 2 * round16(tile * 4) + 3 * 16;
}

/** Streamed rows per tile that fit maxComputeWorkgroupStorageSize (16 KiB by default: 31 at head_dim 64, 7 at 256); 0 if none. */
export function attentionTile(gpu: Gpu, headDim: number): number {
  let tile = MAX_TILE;
  while (tile > 0 && attentionWorkgroupBytes(headDim, tile) > gpu.limits.maxComputeWorkgroupStorageSize) tile--;
  return tile;
}

function spec(gpu: Gpu, entry: string, a: AttentionArgs, bindings: KernelSpec['bindings']): KernelSpec {
  const { headDim } = a;
  return { ...variant(headDim, !!a.rope), entry, bindings, constants: { HD4: headDim / 4, TILE: attentionTile(gpu, headDim) } };
}

/** Bindings 1-3: q, k, v, or (RoPE on load) the one q|k|v buffer, the positions and the table. */
const qkvBuffers = (a: AttentionArgs): GPUBuffer[] =>
  a.rope ? [a.q.t.buffer, a.rope.positions.buffer, a.rope.table.buffer] : [a.q.t.buffer, a.k.t.buffer, a.v.t.buffer];

const blocks = (gpu: Gpu, sequences: number, rows: number, heads: number) =>
  gpu.grid(sequences * Math.ceil(rows / WG) * heads);

/** Forward with the uniform buffer of attention.ts's params (same layout as the per-row kernel). */
export function tiledAttentionForward(gpu: Gpu, program: Program, a: AttentionArgs, uniforms: GPUBufferBinding): Promise<void> {
  return gpu.record(
    program, spec(gpu, 'forward', a, ['uniform', 'read', 'read', 'read', 'rw', 'rw', 'read']),
    [uniforms, ...qkvBuffers(a), a.o.t.buffer, a.lse.buffer, a.bounds.buffer],
    blocks(gpu, a.T / a.Sq, a.Sq, a.heads),
  );
}

/** dQ, then dK and dV (delta = rowsum(dO·O) already recorded); uniforms as for the per-row kernels. */
export async function tiledAttentionBackward(
  gpu: Gpu, program: Program, a: AttentionBackwardArgs, queryUniforms: GPUBufferBinding, keyUniforms: GPUBufferBinding,
): Promise<void> {
  const bindings = ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'read', 'rw'] as const;
  const shared = [...qkvBuffers(a), a.dO.buffer, a.lse.buffer];
  await gpu.record(
    program, spec(gpu, 'backward_q', a, bindings),
    [queryUniforms, ...shared, a.bounds.buffer, a.delta.buffer, a.grad.buffer],
    blocks(gpu, a.T / a.Sq, a.Sq, a.heads),
  );
  await gpu.record(
    program, spec(gpu, 'backward_kv', a, bindings),
    [keyUniforms, ...shared, a.keyBounds.buffer, a.delta.buffer, a.grad.buffer],
    blocks(gpu, a.T / a.Sq, a.Sk, a.kvHeads),
  );
}
