/**
 * An index that answers "is this record a duplicate of one already added?": exactly (64-bit hash
 * of the normalised text) or nearly (MinHash + LSH candidates, verified by Jaccard similarity).
 * De-duplication adds only the records it keeps; the leakage check adds all training records.
 */
import type { DataRecord } from '../records.ts';
import { hash64 } from './hash.ts';
import { LshIndex, lshParams, type LshParams } from './lsh.ts';
import { estimateJaccard, MinHasher } from './minhash.ts';
import { recordText } from './record-text.ts';
import { DEFAULT_SHINGLES, jaccardAtLeast, normaliseForMatch, shingleSet, tokenShingleSet, type ShingleOptions } from './shingles.ts';

export interface NearDupConfig {
  /** Jaccard similarity (of shingle sets) at or above which two records are duplicates. */
  readonly threshold: number;
  readonly shingles: ShingleOptions;
  /** MinHash permutations; more is a finer estimate and slower. */
  readonly numPerm: number;
  /** LSH bands and rows; chosen from the threshold when absent. */
  readonly bands?: number;
  readonly rows?: number;
  /** Confirm candidates by exact Jaccard of the shingle sets, or by the MinHash estimate (less memory). */
  readonly verify: 'exact' | 'estimate';
  readonly seed: number;
}

export interface DedupConfig {
  readonly exact: boolean;
  readonly near: NearDupConfig | false;
}

export const DEFAULT_NEAR_DUP: NearDupConfig = {
  threshold: 0.7,
  shingles: DEFAULT_SHINGLES,
  numPerm: 128,
  verify: 'exact',
  seed: 1,
};

export const DEFAULT_DEDUP: DedupConfig = { exact: true, near: DEFAULT_NEAR_DUP };

/**
 * The exact-match key: kind and every text part (chat roles included), NFKC, lower case,
 * whitespace runs collapsed. Punctuation counts here; near-duplicate matching ignores it.
 */
export function exactKey(record: DataRecord): string {
  const norm = (s: string) => s.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
  switch (record.kind) {
    case 'text':
      return `text\u0000${norm(record.text)}`;
    case 'prompt':
      return `prompt\u0000${norm(record.prompt)}\u0001${norm(record.completion)}`;
    case 'chat':
      return `chat\u0000${record.messages.map((m) => `${m.role}\u0002${norm(m.content)}`).join('\u0001')}`;
    case 'tokens':
      return `tokens\u0000${record.inputIds.join(',')}`;
  }
}

/** What the index needs to know about one record, computed once. */
export interface Fingerprint {
  readonly key: string | null;
  readonly shingles: Uint32Array | null;
  readonly signature: Uint32Array | null;
}

export interface DuplicateMatch {
  /** The id the matching record was added with. */
  readonly id: number;
  readonly similarity: number;
  readonly kind: 'exact' | 'near';
}

export class DuplicateIndex {
  readonly lsh: LshParams | null;
  private readonly hasher: MinHasher | null;
  private readonly index: LshIndex | null;
  private readonly exact = new Map<string, number>();
  /** Per near-indexed record id: its shingle set (exact verification) or signature (estimate). */
  private readonly stored: Uint32Array[] = [];

  constructor(readonly config: DedupConfig) {
    const near = config.near;
    if (near) {
      if (!(near.threshold > 0 && near.threshold <= 1)) throw new RangeError(`near-duplicate threshold ${near.threshold} is not in (0, 1]`);
      this.hasher = new MinHasher(near.numPerm, near.seed);
      const chosen = lshParams(near.threshold, near.numPerm);
      const bands = near.bands ?? (near.rows ? Math.floor(near.numPerm / near.rows) : chosen.bands);
      const rows = near.rows ?? (near.bands ? Math.floor(near.numPerm / near.bands) : chosen.rows);
      if (bands < 1 || rows < 1 || bands * rows > near.numPerm) {
        throw new RangeError(`LSH ${bands} bands × ${rows} rows does not fit ${near.numPerm} permutations`);
      }
      this.lsh = { bands, rows };
      this.index = new LshIndex(this.lsh);
    } else {
      this.hasher = null;
      this.index = null;
      this.lsh = null;
    }
  }

  fingerprint(record: DataRecord): Fingerprint {
    const key = this.config.exact ? hash64(exactKey(record)) : null;
    const near = this.config.near;
    if (!near || !this.hasher) return { key, shingles: null, signature: null };
    const shingles =
      record.kind === 'tokens' ? tokenShingleSet(record.inputIds, near.shingles.size) : shingleSet(normaliseForMatch(recordText(record)), near.shingles);
    // A record with no shingles (only punctuation) is left to exact matching.
    const signature = shingles.length > 0 ? this.hasher.signature(shingles) : null;
    return { key, shingles, signature };
  }

  /** The best earlier match (exact first, then the most similar near one; ties go to the lowest id). */
  match(fp: Fingerprint): DuplicateMatch | null {
    if (fp.key !== null) {
      const id = this.exact.get(fp.key);
      if (id !== undefined) return { id, similarity: 1, kind: 'exact' };
    }
    const near = this.config.near;
    if (!near || !this.index || !fp.signature) return null;
    let best: DuplicateMatch | null = null;
    const exact = near.verify === 'exact';
    const { shingles, signature } = fp;
    this.index.forEachCandidate(signature, (id) => {
      const other = this.stored[id]!;
      const sim = exact ? jaccardAtLeast(other, shingles!, near.threshold) : estimateJaccard(other, signature);
      if (sim >= near.threshold && (!best || sim > best.similarity || (sim === best.similarity && id < best.id))) best = { id, similarity: sim, kind: 'near' };
    });
    return best;
  }

  add(fp: Fingerprint, id: number): void {
    if (fp.key !== null && !this.exact.has(fp.key)) this.exact.set(fp.key, id);
    if (this.index && fp.signature) {
      this.index.insert(id, fp.signature);
      this.stored[id] = this.config.near && this.config.near.verify === 'exact' ? fp.shingles! : fp.signature;
    }
  }
}
