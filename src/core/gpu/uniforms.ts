import { BufferUsage } from './constants.ts';
import type { BufferAllocator } from './pool.ts';

/** What the arena needs from the device wrapper (gpu.ts), which owns the arena. */
interface UniformHost extends BufferAllocator {
  readonly device: GPUDevice;
  readonly limits: { readonly minUniformBufferOffsetAlignment: number };
}

/**
 * Kernel parameters live in a few large uniform buffers, one aligned slot per dispatch, written
 * once when a step is planned. Replaying a plan never writes them again.
 */
export class UniformArena {
  private static readonly CHUNK = 64 * 1024;
  private chunk: GPUBuffer | null = null;
  private used = 0;

  constructor(private readonly gpu: UniformHost) {}

  alloc(data: ArrayBuffer): GPUBufferBinding {
    const align = this.gpu.limits.minUniformBufferOffsetAlignment;
    const size = data.byteLength;
    let offset = Math.ceil(this.used / align) * align;
    if (!this.chunk || offset + size > UniformArena.CHUNK) {
      this.chunk = this.gpu.createBuffer(UniformArena.CHUNK, 'uniforms', 'uniform-arena', BufferUsage.UNIFORM | BufferUsage.COPY_DST);
      offset = 0;
    }
    this.gpu.device.queue.writeBuffer(this.chunk, offset, data);
    this.used = offset + size;
    return { buffer: this.chunk, offset, size };
  }
}
