import code from '../../../shaders/attention.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { packParams } from '../gpu/params.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { AttentionArgs, AttentionBackwardArgs } from './attention-args.ts';
import { tiledAttentionBackward, tiledAttentionForward, useTiledAttention } from './attention-tiled.ts';

const spec = (entry: string, bindings: KernelSpec['bindings'], wide = false): KernelSpec =>
  wide ? { name: 'attention_wide', code: WIDE_CODE, entry, bindings } : { name: 'attention', code, entry, bindings };
/** head_dim 132..256 (Gemma's 256): twice the per-invocation vec4 arrays, so head_dim ≤ 128 keeps its registers. */
const WIDE_CODE = code.replace('const MAXV = 32u;', 'const MAXV = 64u;');
const kernels = (wide: boolean) => ({
  forward: spec('forward', ['uniform', 'read', 'read', 'read', 'rw', 'rw', 'read'], wide),
  backwardQ: spec('backward_q', ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'read', 'rw'], wide),
  backwardKV: spec('backward_kv', ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'read', 'rw'], wide),
});
const NARROW = kernels(false);
const WIDE = kernels(true);
const pickKernels = (headDim: number) => (headDim > 128 ? WIDE : NARROW);
const DELTA = spec('delta_rows', ['uniform', 'read', 'read', 'rw']);
const KV_APPEND = spec('kv_append', ['uniform', 'read', 'rw', 'rw', 'read']);
const WG = 64;
export const MAX_HEAD_DIM = 256;
export type { AttentionArgs, AttentionBackwardArgs, AttentionRope, HeadsView } from './attention-args.ts';
/** A tiled forward block shares its key tiles among its queries; decoding a token or two keeps the per-row kernel. */
const MIN_TILED_QUERIES = 8;
/** `gpu.tuning.tiledAttention`: true forces the tiled forward at any length, false keeps the per-row kernels. */
const tiledForward = (gpu: Gpu, headDim: number, Sq: number) =>
  useTiledAttention(gpu, headDim) && (Sq >= MIN_TILED_QUERIES || gpu.tuning.tiledAttention === true);

/**
 * Whether the attention kernels apply RoPE themselves (q and k rotated as they load, dQ and dK
 * rotated back as they are written), so the model skips its two rope passes. Only the tiled
 * kernels do (the backward is tiled whenever the forward is), for head dims that split into vec4
 * halves, and when the keys are the queries' own tokens (a KV cache holds rotated keys). The
 * forward and the backward of a layer ask with the same shapes, so they agree.
 * `gpu.tuning.ropeInAttention` false keeps the separate rope pass.
 */
export function ropeInAttention(gpu: Gpu, headDim: number, Sq: number, Sk: number): boolean {
  return gpu.tuning.ropeInAttention !== false && headDim % 8 === 0 && Sq === Sk && tiledForward(gpu, headDim, Sq);
}

function checkRope(gpu: Gpu, a: AttentionArgs): void {
  if (!a.rope) return;
  if (!ropeInAttention(gpu, a.headDim, a.Sq, a.Sk)) {
    throw new Error(`attention: RoPE inside the kernels is not available for head_dim ${a.headDim}, ${a.Sq} queries, ${a.Sk} keys`);
  }
  if (a.q.t.buffer !== a.k.t.buffer || a.k.t.buffer !== a.v.t.buffer) throw new Error('attention: RoPE on load needs q, k, v in one buffer');
  if (a.rope.table.offset % 4) throw new Error('attention: the RoPE table offset must be a multiple of 4');
}

function params(a: AttentionArgs, keys = 0, bounds: Tensor = a.bounds): ArrayBuffer {
  const { headDim } = a;
  if (headDim % 4 !== 0 || headDim > MAX_HEAD_DIM) {
    throw new Error(`attention: head_dim ${headDim} is not supported (a multiple of 4 up to ${MAX_HEAD_DIM})`);
  }
  if (a.heads % a.kvHeads !== 0) throw new Error(`attention: ${a.heads} heads do not divide into ${a.kvHeads} kv heads`);
  for (const [name, view] of [['q', a.q], ['k', a.k], ['v', a.v], ['o', a.o]] as const) {
    if (view.t.offset % 4 || view.stride % 4) throw new Error(`attention: ${name} offset/stride must be multiples of 4`);
  }
  return packParams([
    [a.T, 'u32'], [a.heads, 'u32'], [a.kvHeads, 'u32'], [headDim / 4, 'u32'],
    [a.Sq, 'u32'], [a.Sk, 'u32'], [a.scale ?? 1 / Math.sqrt(headDim), 'f32'], [bounds.offset, 'u32'],
    [a.q.t.offset / 4, 'u32'], [a.q.stride / 4, 'u32'], [a.k.t.offset / 4, 'u32'], [a.k.stride / 4, 'u32'],
    [a.v.t.offset / 4, 'u32'], [a.v.stride / 4, 'u32'], [a.o.t.offset / 4, 'u32'], [a.o.stride / 4, 'u32'],
    [a.lse.offset, 'u32'], [keys, 'u32'], [a.rope?.positions.offset ?? 0, 'u32'], [a.rope?.maxPositions ?? 0, 'u32'],
    [(a.rope?.table.offset ?? 0) / 4, 'u32'], [0, 'u32'], [0, 'u32'], [0, 'u32'],
  ]);
}

export function attentionForward(gpu: Gpu, program: Program, a: AttentionArgs): Promise<void> {
  checkRope(gpu, a);
  if (tiledForward(gpu, a.headDim, a.Sq)) {
    return tiledAttentionForward(gpu, program, a, gpu.uniforms.alloc(params(a)));
  }
  return gpu.record(
    program, pickKernels(a.headDim).forward,
    [gpu.uniforms.alloc(params(a)), a.q.t.buffer, a.k.t.buffer, a.v.t.buffer, a.o.t.buffer, a.lse.buffer, a.bounds.buffer],
    gpu.grid(Math.ceil((a.T * a.heads) / WG)),
  );
}

export async function attentionBackward(gpu: Gpu, program: Program, a: AttentionBackwardArgs): Promise<void> {
  if (a.q.t.buffer !== a.k.t.buffer || a.k.t.buffer !== a.v.t.buffer) {
    throw new Error('attention backward: q, k and v must live in one buffer so that dq, dk, dv share its layout');
  }
  if (a.delta.offset !== 0) throw new Error('attention backward: delta must start at offset 0');
  checkRope(gpu, a);
  const keys = a.T / a.Sq * a.Sk;
  const rows = gpu.grid(Math.ceil((a.T * a.heads) / WG));
  if (a.dO.offset !== a.o.t.offset) throw new Error('attention backward: dO must have the layout of o');
  await gpu.record(program, DELTA, [gpu.uniforms.alloc(params(a)), a.o.t.buffer, a.dO.buffer, a.delta.buffer], rows);
  if (useTiledAttention(gpu, a.headDim)) {
    return tiledAttentionBackward(gpu, program, a, gpu.uniforms.alloc(params(a)), gpu.uniforms.alloc(params(a, keys, a.keyBounds)));
  }
  const shared = [a.q.t.buffer, a.k.t.buffer, a.v.t.buffer, a.dO.buffer, a.lse.buffer];
  const k = pickKernels(a.headDim);
  await gpu.record(program, k.backwardQ, [gpu.uniforms.alloc(params(a)), ...shared, a.bounds.buffer, a.delta.buffer, a.grad.buffer], rows);
  await gpu.record(
    program, k.backwardKV,
    [gpu.uniforms.alloc(params(a, keys, a.keyBounds)), ...shared, a.keyBounds.buffer, a.delta.buffer, a.grad.buffer],
    gpu.grid(Math.ceil((keys * a.kvHeads) / WG)),
  );
}

/**
 * Copies the k and v columns of n tokens' fused q|k|v rows into KV caches [positions, kvDim] at
 * rows positions[t] (their absolute positions).
 */
export function kvAppend(
  gpu: Gpu, program: Program, qkv: Tensor, stride: number, kCol: number, vCol: number, n: number, kvDim: number,
  cacheK: Tensor, cacheV: Tensor, positions: Tensor,
): Promise<void> {
  if ([qkv.offset, stride, kCol, vCol, kvDim].some((v) => v % 4) || cacheK.offset || cacheV.offset) {
    throw new Error('kv_append: offsets and widths must be multiples of 4, caches must start their buffers');
  }
  const f = packParams([
    [n, 'u32'], [kvDim / 4, 'u32'], [stride / 4, 'u32'], [kCol / 4, 'u32'],
    [vCol / 4, 'u32'], [positions.offset, 'u32'], [qkv.offset / 4, 'u32'], [0, 'u32'],
  ]);
  const buffers = [gpu.uniforms.alloc(f), qkv.buffer, cacheK.buffer, cacheV.buffer, positions.buffer];
  return gpu.record(program, KV_APPEND, buffers, gpu.grid(Math.ceil((n * kvDim) / 4 / WG)));
}

/**
 * Key ranges for causal attention over sequences of length S, where `segments[t]` numbers the
 * packed example each token belongs to (0 for every token when nothing is packed).
 * Returns query bounds [T, 2] and key bounds [T, 2] as u32.
 */
export function causalBounds(S: number, segmentIds: ArrayLike<number>): { query: Uint32Array; key: Uint32Array } {
  const T = segmentIds.length;
  const query = new Uint32Array(T * 2);
  const key = new Uint32Array(T * 2);
  for (let b = 0; b < T / S; b++) {
    let start = 0;
    for (let s = 0; s < S; s++) {
      if (s > 0 && segmentIds[b * S + s] !== segmentIds[b * S + s - 1]) start = s;
      query[2 * (b * S + s)] = start;
      query[2 * (b * S + s) + 1] = s;
    }
    let end = S - 1;
    for (let s = S - 1; s >= 0; s--) {
      if (s < S - 1 && segmentIds[b * S + s] !== segmentIds[b * S + s + 1]) end = s;
      key[2 * (b * S + s)] = s;
      key[2 * (b * S + s) + 1] = end;
    }
  }
  return { query, key };
}

/** Float64 reference: o [T, H·hd] from dense q [T, H·hd], k, v [T, KVH·hd] and query bounds. */
export function attentionRef(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
  T: number, S: number, H: number, KVH: number, hd: number, bounds: ArrayLike<number>,
): Float64Array {
  const o = new Float64Array(T * H * hd);
  const scale = 1 / Math.sqrt(hd);
  for (let t = 0; t < T; t++) {
    const base = Math.floor(t / S) * S;
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / KVH));
      const lo = bounds[2 * t]!;
      const hi = bounds[2 * t + 1]!;
      const scores: number[] = [];
      for (let j = lo; j <= hi; j++) {
        let s = 0;
        for (let d = 0; d < hd; d++) s += q[t * H * hd + h * hd + d]! * k[(base + j) * KVH * hd + g * hd + d]!;
        scores.push(s * scale);
      }
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = lo; j <= hi; j++) {
        for (let d = 0; d < hd; d++) o[t * H * hd + h * hd + d]! += (e[j - lo]! / z) * v[(base + j) * KVH * hd + g * hd + d]!;
      }
    }
  }
  return o;
}
