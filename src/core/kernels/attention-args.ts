import type { Tensor } from '../gpu/tensor.ts';

/** A [rows, heads·headDim] operand inside a possibly wider row (fused q|k|v). Offsets in elements. */
export interface HeadsView {
  readonly t: Tensor;
  /** Elements between consecutive tokens. */
  readonly stride: number;
}

/** RoPE applied by the attention kernels as q and k load (q, k, v views of one buffer; keys are the queries' tokens). */
export interface AttentionRope {
  /** u32 [T]: each token's position. */
  readonly positions: Tensor;
  /** rope.ts's cos/sin table [maxPositions, headDim/2, 2]. */
  readonly table: Tensor;
  readonly maxPositions: number;
}

export interface AttentionArgs {
  /** Query tokens (all sequences), queries per sequence, keys per sequence (KV cache length). */
  readonly T: number;
  readonly Sq: number;
  readonly Sk: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly q: HeadsView;
  readonly k: HeadsView;
  readonly v: HeadsView;
  /** [T, heads·headDim]. */
  readonly o: HeadsView;
  /** [T, heads] log-sum-exp saved by the forward. */
  readonly lse: Tensor;
  /** u32 [T, 2]: the first and last key each query sees, within its sequence. */
  readonly bounds: Tensor;
  readonly scale?: number;
  /** q and k as stored are not yet rotated: the kernels rotate them (see ropeInAttention). */
  readonly rope?: AttentionRope;
}

export interface AttentionBackwardArgs extends AttentionArgs {
  /** dO with the layout of o. */
  readonly dO: Tensor;
  /** u32 [keys, 2]: the first and last query (within the sequence) that sees each key. */
  readonly keyBounds: Tensor;
  /** [T, heads] scratch for rowsum(dO·O). */
  readonly delta: Tensor;
  /** Receives dQ, dK, dV at the offsets and strides of q, k and v (so q, k, v share one layout). */
  readonly grad: Tensor;
}
