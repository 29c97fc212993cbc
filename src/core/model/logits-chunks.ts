/**
 * How the LM head and cross-entropy hold the logits. Small vocabularies keep the [tokens, vocab]
 * logits whole through the step (the backward reuses them). Large ones (Qwen-class 151,936) never
 * materialise them: the head runs over vocabulary chunks, an online log-sum-exp merges the chunks,
 * and the backward recomputes each chunk's logits, as Liger's fused linear cross-entropy does.
 */

/** One vocabulary chunk of logits; logits that fit one chunk are kept whole for the backward. */
export const LOGITS_CHUNK_BYTES = 32 << 20;

/** Elements of one logits binding at most (a 256 MiB binding on adapters that allow it). */
const MAX_CHUNK_ELEMENTS = 64 << 20;

export function keepsLogits(T: number, V: number, o: { train: boolean; keepLogits?: boolean; logitsChunkBytes?: number }): boolean {
  return o.keepLogits === true || (o.train && T * V * 4 <= (o.logitsChunkBytes ?? LOGITS_CHUNK_BYTES));
}

/**
 * Vocabulary rows per logits chunk for T tokens: as many as one binding holds when the logits are
 * kept, else as many as `chunkBytes` holds (a smaller chunk lowers the peak, a larger one
 * records fewer dispatches).
 */
export function logitsChunkRows(T: number, V: number, maxBindingBytes: number, keep: boolean, chunkBytes = LOGITS_CHUNK_BYTES): number {
  const bytes = keep ? Math.min(maxBindingBytes, MAX_CHUNK_ELEMENTS * 4) : Math.min(maxBindingBytes, chunkBytes);
  return Math.max(1, Math.min(V, Math.floor(bytes / 4 / T)));
}
