import { STORAGE_USAGE } from './constants.ts';
import type { Purpose } from './ledger.ts';

/** What the pool needs from the device wrapper (gpu.ts), which owns the pool. */
export interface BufferAllocator {
  createBuffer(size: number, purpose: Purpose, label: string, usage?: number): GPUBuffer;
  repurpose(buffer: GPUBuffer, purpose: Purpose): void;
  destroyBuffer(buffer: GPUBuffer): void;
}

/** Size classes: 256-byte steps below 1 MiB, 64 KiB steps above, so reuse wastes little. */
export function sizeClass(bytes: number): number {
  const step = bytes < 1 << 20 ? 256 : 64 << 10;
  return Math.max(step, Math.ceil(bytes / step) * step);
}

/**
 * Buffers handed back by plans that ended (an evaluation, a generation of another prompt
 * length) wait here for the next plan of a similar size instead of being destroyed and created
 * again. Idle buffers count in the ledger as 'pooled'; `trim` frees them.
 */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private idle = 0;

  constructor(
    private readonly gpu: BufferAllocator,
    /** Idle bytes kept at most; beyond this, released buffers are destroyed. */
    private readonly maxIdleBytes = 256 << 20,
  ) {}

  acquire(bytes: number, purpose: Purpose, label: string, usage: number = STORAGE_USAGE): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(`${usage}:${size}`);
    const reused = list?.pop();
    if (reused) {
      this.idle -= reused.size;
      this.gpu.repurpose(reused, purpose);
      return reused;
    }
    return this.gpu.createBuffer(size, purpose, label, usage);
  }

  release(buffer: GPUBuffer): void {
    if (this.idle + buffer.size > this.maxIdleBytes) {
      this.gpu.destroyBuffer(buffer);
      return;
    }
    const key = `${buffer.usage}:${buffer.size}`;
    this.free.set(key, [...(this.free.get(key) ?? []), buffer]);
    this.idle += buffer.size;
    this.gpu.repurpose(buffer, 'pooled');
  }

  /** Frees every idle buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) this.gpu.destroyBuffer(b);
    this.free.clear();
    this.idle = 0;
  }
}
