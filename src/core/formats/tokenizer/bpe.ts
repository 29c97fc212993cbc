import type { JsonReader } from './config.ts';
import { cpLen } from './pieces.ts';

/** Open-addressing hash map from a pair of ids to a merge rank. */
class PairTable {
  private readonly mask: number;
  private readonly ka: Int32Array;
  private readonly kb: Int32Array;
  private readonly val: Int32Array;

  constructor(capacity: number) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.mask = cap - 1;
    this.ka = new Int32Array(cap).fill(-1);
    this.kb = new Int32Array(cap);
    this.val = new Int32Array(cap);
  }

  private slot(a: number, b: number): number {
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) >>> 0;
    h ^= h >>> 15;
    let i = h & this.mask;
    while (this.ka[i] !== -1 && (this.ka[i] !== a || this.kb[i] !== b)) i = (i + 1) & this.mask;
    return i;
  }

  set(a: number, b: number, v: number): void {
    const i = this.slot(a, b);
    this.ka[i] = a;
    this.kb[i] = b;
    this.val[i] = v;
  }

  /** The rank of (a, b), or -1. */
  get(a: number, b: number): number {
    const i = this.slot(a, b);
    return this.ka[i] === -1 ? -1 : this.val[i]!;
  }
}

export interface BpeOptions {
  unkToken?: string;
  fuseUnk: boolean;
  byteFallback: boolean;
  ignoreMerges: boolean;
  continuingSubwordPrefix?: string;
  endOfWordSuffix?: string;
}

/** Words above this many symbols use the heap; below, a linear scan of cached pair ranks is faster. */
const HEAP_THRESHOLD = 48;
const CACHE_LIMIT = 100_000;
const CACHE_MAX_WORD = 256;

/**
 * The BPE model of the `tokenizers` crate: a word's characters (or byte-fallback / unk tokens) are
 * merged, lowest merge rank first and leftmost on ties, until no pair has a merge.
 */
export class BpeModel {
  readonly vocab: Map<string, number>;
  readonly idToToken: (string | undefined)[];
  private readonly ranks: PairTable;
  /** Merge rank → id of the merged token. */
  private readonly mergeIds: Int32Array;
  private readonly unkId: number;
  private readonly byteIds: Int32Array | null;
  private readonly cache = new Map<string, Int32Array>();
  /** Id of each single-UTF-16-unit token (-1 if none), for the common case without prefix/suffix. */
  private readonly unitIds: Int32Array | null;
  private readonly sIds: number[] = [];
  private readonly sSt: number[] = [];
  private readonly sEn: number[] = [];

  constructor(
    vocab: Map<string, number>,
    merges: [string, string][],
    readonly opts: BpeOptions,
    /** Reports a merge whose tokens are not in the vocabulary. */
    onBadMerge: (index: number, reason: string) => never = (i, reason) => {
      throw new Error(`merge ${i}: ${reason}`);
    },
  ) {
    this.vocab = vocab;
    let max = -1;
    for (const id of vocab.values()) if (id > max) max = id;
    this.idToToken = new Array<string | undefined>(max + 1);
    for (const [tok, id] of vocab) this.idToToken[id] = tok;

    this.ranks = new PairTable(merges.length);
    this.mergeIds = new Int32Array(merges.length);
    const prefix = opts.continuingSubwordPrefix;
    for (let i = 0; i < merges.length; i++) {
      const [a, b] = merges[i]!;
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      if (ia === undefined) onBadMerge(i, `token ${JSON.stringify(a)} is not in the vocabulary`);
      if (ib === undefined) onBadMerge(i, `token ${JSON.stringify(b)} is not in the vocabulary`);
      const merged = a + (prefix && b.startsWith(prefix) ? b.slice(prefix.length) : b);
      const im = vocab.get(merged);
      if (im === undefined) onBadMerge(i, `merged token ${JSON.stringify(merged)} is not in the vocabulary`);
      this.ranks.set(ia, ib, i);
      this.mergeIds[i] = im;
    }
    if (!opts.continuingSubwordPrefix && !opts.endOfWordSuffix) {
      this.unitIds = new Int32Array(65536).fill(-1);
      for (const [tok, id] of vocab) if (tok.length === 1) this.unitIds[tok.charCodeAt(0)] = id;
    } else {
      this.unitIds = null;
    }
    this.unkId = opts.unkToken !== undefined ? (vocab.get(opts.unkToken) ?? -1) : -1;
    if (opts.byteFallback) {
      this.byteIds = new Int32Array(256).fill(-1);
      for (let b = 0; b < 256; b++) {
        this.byteIds[b] = vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? -1;
      }
    } else {
      this.byteIds = null;
    }
  }

  /**
   * Tokenizes one pre-tokenized word. Returns [ids…, starts…, ends…] (n each), starts/ends being
   * UTF-16 offsets of each token within the word. The result is cached; do not modify it.
   */
  tokenize(word: string): Int32Array {
    const hit = this.cache.get(word);
    if (hit !== undefined) return hit;
    const result = this.tokenizeUncached(word);
    if (word.length <= CACHE_MAX_WORD) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(word, result);
    }
    return result;
  }

  private tokenizeUncached(word: string): Int32Array {
    if (word.length === 0) return new Int32Array(0);
    if (this.opts.ignoreMerges) {
      const id = this.vocab.get(word);
      if (id !== undefined) return Int32Array.of(id, 0, word.length);
    }
    const ids = this.sIds;
    const st = this.sSt;
    const en = this.sEn;
    ids.length = st.length = en.length = 0;
    this.initialSymbols(word, ids, st, en);
    if (ids.length > HEAP_THRESHOLD) this.mergeHeap(ids, st, en);
    else this.mergeScan(ids, st, en);
    const n = ids.length;
    const out = new Int32Array(3 * n);
    for (let k = 0; k < n; k++) {
      out[k] = ids[k]!;
      out[n + k] = st[k]!;
      out[2 * n + k] = en[k]!;
    }
    return out;
  }

  private initialSymbols(word: string, ids: number[], st: number[], en: number[]): void {
    const { continuingSubwordPrefix: prefix, endOfWordSuffix: suffix, fuseUnk } = this.opts;
    let unkStart = -1;
    let unkEnd = -1;
    const flushUnk = (): void => {
      if (unkStart >= 0) {
        ids.push(this.unkId);
        st.push(unkStart);
        en.push(unkEnd);
        unkStart = -1;
      }
    };
    const unitIds = this.unitIds;
    for (let k = 0; k < word.length; ) {
      if (unitIds !== null) {
        const fast = unitIds[word.charCodeAt(k)]!;
        if (fast >= 0) {
          flushUnk();
          ids.push(fast);
          st.push(k);
          en.push(k + 1);
          k++;
          continue;
        }
      }
      const n = cpLen(word, k);
      let s = word.slice(k, k + n);
      if (k > 0 && prefix) s = prefix + s;
      if (k + n === word.length && suffix) s = s + suffix;
      const id = this.vocab.get(s);
      if (id !== undefined) {
        flushUnk();
        ids.push(id);
        st.push(k);
        en.push(k + n);
      } else if (this.byteIds && this.byteFallbackOk(s)) {
        flushUnk();
        for (const b of new TextEncoder().encode(s)) {
          ids.push(this.byteIds[b]!);
          st.push(k);
          en.push(k + n);
        }
      } else if (this.unkId >= 0) {
        if (unkStart >= 0 && fuseUnk) {
          unkEnd = k + n;
        } else {
          flushUnk();
          unkStart = k;
          unkEnd = k + n;
        }
      }
      // else: no unk token configured: the character is dropped, as in the crate
      k += n;
    }
    flushUnk();
  }

  private byteFallbackOk(s: string): boolean {
    for (const b of new TextEncoder().encode(s)) if (this.byteIds![b]! < 0) return false;
    return true;
  }

  /** Linear version: repeatedly merge the lowest-ranked (then leftmost) adjacent pair. */
  private mergeScan(ids: number[], st: number[], en: number[]): void {
    let n = ids.length;
    if (n < 2) return;
    const pr: number[] = new Array<number>(n - 1);
    for (let j = 0; j < n - 1; j++) pr[j] = this.ranks.get(ids[j]!, ids[j + 1]!);
    for (;;) {
      let best = -1;
      let bi = -1;
      for (let j = 0; j < n - 1; j++) {
        const r = pr[j]!;
        if (r >= 0 && (best < 0 || r < best)) {
          best = r;
          bi = j;
        }
      }
      if (bi < 0) return;
      ids[bi] = this.mergeIds[best]!;
      en[bi] = en[bi + 1]!;
      ids.splice(bi + 1, 1);
      st.splice(bi + 1, 1);
      en.splice(bi + 1, 1);
      pr.splice(bi, 1);
      n--;
      if (bi > 0) pr[bi - 1] = this.ranks.get(ids[bi - 1]!, ids[bi]!);
      if (bi < n - 1) pr[bi] = this.ranks.get(ids[bi]!, ids[bi + 1]!);
    }
  }

  /** Heap version (as the crate's Word::merge_all): pops (rank, position) minima. */
  private mergeHeap(ids: number[], st: number[], en: number[]): void {
    const n = ids.length;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let j = 0; j < n; j++) {
      next[j] = j + 1 < n ? j + 1 : -1;
      prev[j] = j - 1;
    }
    const heap = new MinHeap();
    const POS = 4294967296; // key = rank * 2^32 + position
    for (let j = 0; j < n - 1; j++) {
      const r = this.ranks.get(ids[j]!, ids[j + 1]!);
      if (r >= 0) heap.push(r * POS + j);
    }
    while (heap.size > 0) {
      const key = heap.pop();
      const r = Math.floor(key / POS);
      const p = key - r * POS;
      if (!alive[p]) continue;
      const q = next[p]!;
      if (q < 0) continue;
      if (this.ranks.get(ids[p]!, ids[q]!) !== r) continue;
      ids[p] = this.mergeIds[r]!;
      en[p] = en[q]!;
      alive[q] = 0;
      const qn = next[q]!;
      next[p] = qn;
      if (qn >= 0) prev[qn] = p;
      const pp = prev[p]!;
      if (pp >= 0) {
        const r2 = this.ranks.get(ids[pp]!, ids[p]!);
        if (r2 >= 0) heap.push(r2 * POS + pp);
      }
      if (qn >= 0) {
        const r3 = this.ranks.get(ids[p]!, ids[qn]!);
        if (r3 >= 0) heap.push(r3 * POS + p);
      }
    }
    let w = 0;
    for (let j = 0; j < n; j++) {
      if (!alive[j]) continue;
      ids[w] = ids[j]!;
      st[w] = st[j]!;
      en[w] = en[j]!;
      w++;
    }
    ids.length = w;
    st.length = w;
    en.length = w;
  }

  /** For tests: the ids of `word` merged with the heap or the scan regardless of its length. */
  mergeForTest(word: string, heap: boolean): number[] {
    const ids: number[] = [];
    const st: number[] = [];
    const en: number[] = [];
    this.initialSymbols(word, ids, st, en);
    if (heap) this.mergeHeap(ids, st, en);
    else this.mergeScan(ids, st, en);
    return ids;
  }
}

class MinHeap {
  private readonly a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  push(x: number): void {
    const a = this.a;
    let i = a.length;
    a.push(x);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= x) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = x;
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    const n = a.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && a[r]! < a[l]! ? r : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

export function buildBpe(r: JsonReader, value: unknown, path: string): BpeModel {
  const obj = r.object(value, path);
  const type = obj['type'];
  if (type !== undefined && type !== 'BPE') {
    r.fail(path, `unsupported model type ${JSON.stringify(type)} (supported: BPE)`);
  }
  if (type === undefined && obj['merges'] === undefined) {
    r.fail(path, 'model has no "type" and no "merges" (supported: BPE)');
  }
  const vocabObj = r.object(obj['vocab'], `${path}.vocab`);
  const vocab = new Map<string, number>();
  for (const tok in vocabObj) {
    const id = vocabObj[tok];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) r.int(id, `${path}.vocab[${JSON.stringify(tok)}]`);
    vocab.set(tok, id as number);
  }
  const rawMerges = r.array(obj['merges'] ?? [], `${path}.merges`);
  const merges: [string, string][] = new Array(rawMerges.length);
  for (let i = 0; i < rawMerges.length; i++) {
    const m = rawMerges[i];
    if (typeof m === 'string') {
      const parts = m.split(' ');
      if (parts.length !== 2) r.fail(`${path}.merges[${i}]`, `merge ${JSON.stringify(m)} is not "a b"`);
      merges[i] = [parts[0]!, parts[1]!];
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      merges[i] = [m[0], m[1]];
    } else {
      r.fail(`${path}.merges[${i}]`, 'expected "a b" or ["a", "b"]');
    }
  }
  const opts: BpeOptions = {
    fuseUnk: r.bool(obj['fuse_unk'], `${path}.fuse_unk`, false),
    byteFallback: r.bool(obj['byte_fallback'], `${path}.byte_fallback`, false),
    ignoreMerges: r.bool(obj['ignore_merges'], `${path}.ignore_merges`, false),
  };
  const unk = r.optString(obj['unk_token'], `${path}.unk_token`);
  if (unk !== undefined) opts.unkToken = unk;
  const csp = r.optString(obj['continuing_subword_prefix'], `${path}.continuing_subword_prefix`);
  if (csp) opts.continuingSubwordPrefix = csp;
  const eow = r.optString(obj['end_of_word_suffix'], `${path}.end_of_word_suffix`);
  if (eow) opts.endOfWordSuffix = eow;
  return new BpeModel(vocab, merges, opts, (i, reason) => r.fail(`${path}.merges[${i}]`, reason));
}
