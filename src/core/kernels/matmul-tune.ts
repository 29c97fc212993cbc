import type { Gpu } from '../gpu/gpu.ts';
import { BLOCKED, blockedSharedBytes, isMatmulKernel, TILE64_SHARED_BYTES, type MatmulKernel } from './matmul-configs.ts';

/** Where tuned choices persist between runs (a JSON file in Node, IndexedDB in the browser). */
export interface MatmulTuneCache {
  /** The table saved for one adapter: shape class → kernel name; {} when none. */
  load(adapter: string): Promise<Record<string, string>>;
  save(adapter: string, table: Record<string, string>): Promise<void>;
}

/** A shape class and the representative product timed for it. */
export interface ShapeClass {
  readonly key: string;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly transA: boolean;
  readonly transB: boolean;
}

/** Sizes snap to these; products within one bucket on each side share a tuned kernel. */
const BUCKETS = [16, 64, 256, 1024, 2048];
const bucket = (n: number): number => BUCKETS.find((b) => n <= b) ?? BUCKETS[BUCKETS.length - 1]!;

export function shapeClass(M: number, N: number, K: number, transA: boolean, transB: boolean): ShapeClass {
  const [m, n, k] = [bucket(M), bucket(N), bucket(K)];
  return { key: `${transA ? 't' : 'n'}${transB ? 't' : 'n'} ${m}x${n}x${k}`, M: m, N: n, K: k, transA, transB };
}

/** The kernels worth timing on a class: blocked tiles no larger than the product, within workgroup limits. */
export function candidates(gpu: Gpu, c: ShapeClass): MatmulKernel[] {
  const out: MatmulKernel[] = ['reg4'];
  if (c.M >= 64 && c.N >= 64 && TILE64_SHARED_BYTES <= gpu.limits.maxComputeWorkgroupStorageSize) out.push('tile64');
  for (const [name, t] of Object.entries(BLOCKED)) {
    const threads = (t.bm / t.tm) * (t.bn / t.tn);
    if (t.bm > Math.max(32, c.M) || t.bn > Math.max(32, c.N)) continue;
    if (blockedSharedBytes(t) > gpu.limits.maxComputeWorkgroupStorageSize || threads > gpu.limits.maxComputeInvocationsPerWorkgroup) continue;
    if (isMatmulKernel(name)) out.push(name);
  }
  return out;
}

/**
 * Chooses a kernel per shape class by timing the candidates once, at first use; choices are
 * kept per adapter in the cache so later runs start tuned.
 */
export class MatmulTuner {
  private table: Record<string, string> | null = null;
  private readonly pending = new Map<string, Promise<MatmulKernel>>();
  /** Timings of the classes tuned in this process (kernel → ms), for the bench and tests. */
  readonly timings = new Map<string, Record<string, number>>();

  constructor(
    private readonly adapter: string,
    private readonly cache: MatmulTuneCache | null,
  ) {}

  choose(c: ShapeClass, kernels: readonly MatmulKernel[], time: (k: MatmulKernel) => Promise<number>): Promise<MatmulKernel> {
    let p = this.pending.get(c.key);
    if (!p) {
      p = this.tune(c, kernels, time);
      this.pending.set(c.key, p);
    }
    return p;
  }

  private async tune(c: ShapeClass, kernels: readonly MatmulKernel[], time: (k: MatmulKernel) => Promise<number>): Promise<MatmulKernel> {
    this.table ??= this.cache ? await this.cache.load(this.adapter).catch(() => ({})) : {};
    const saved = this.table[c.key];
    if (saved && isMatmulKernel(saved) && kernels.includes(saved)) return saved;
    const ms: Record<string, number> = {};
    let best = kernels[0]!;
    for (const k of kernels) {
      ms[k] = await time(k);
      if (ms[k]! < ms[best]!) best = k;
    }
    this.timings.set(c.key, ms);
    this.table[c.key] = best;
    await this.cache?.save(this.adapter, { ...this.table }).catch(() => undefined);
    return best;
  }
}

const tuners = new WeakMap<Gpu, MatmulTuner>();

/** Turns autotuning on for one device (hosts do this; tests leave it off and force kernels). */
export function enableMatmulAutotune(gpu: Gpu, cache: MatmulTuneCache | null): MatmulTuner {
  const t = new MatmulTuner(adapterKey(gpu), cache);
  tuners.set(gpu, t);
  return t;
}

export function matmulTuner(gpu: Gpu): MatmulTuner | undefined {
  return tuners.get(gpu);
}

/** Cache key of an adapter: its description and architecture, which a driver update may change. */
export function adapterKey(gpu: Gpu): string {
  return `${gpu.adapter.description} | ${gpu.adapter.vendor} ${gpu.adapter.architecture}`.trim();
}
