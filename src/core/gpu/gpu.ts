import { BufferUsage, MapMode, STORAGE_USAGE } from './constants.ts';
import { DeviceLostError, LimitError } from '../errors.ts';
import { MemoryLedger, type Purpose } from './ledger.ts';
import { PipelineCache, type KernelSpec } from './pipelines.ts';
import { BufferPool } from './pool.ts';
import { Program } from './program.ts';
import { UniformArena } from './uniforms.ts';

/** Readbacks stage at most this many bytes at a time. */
const READ_PIECE = 16 << 20;

/** Optional features tabtune uses when the adapter has them. */
export const WANTED_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

export interface AdapterSummary {
  readonly description: string;
  readonly vendor: string;
  readonly architecture: string;
  /** A CPU implementation (lavapipe, SwiftShader, WARP). */
  readonly software: boolean;
  readonly host: 'node' | 'browser';
}

export function describeAdapter(adapter: GPUAdapter, host: 'node' | 'browser'): AdapterSummary {
  const info = adapter.info;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  const software =
    (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader|warp|software/.test(text);
  const description = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unknown adapter';
  return { description, vendor: info.vendor, architecture: info.architecture, software, host };
}

/** A binding of part of a buffer, in bytes. */
export interface BufferSlice {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
}


/**
 * The runtime: one GPUDevice with its real limits, a pipeline cache, uniform arena, memory ledger,
 * error and device-loss tracking. Platform code acquires the adapter; everything else is here.
 */
export class Gpu {
  readonly limits: GPUSupportedLimits;
  readonly features: ReadonlySet<string>;
  readonly ledger = new MemoryLedger();
  readonly pipelines: PipelineCache;
  readonly uniforms: UniformArena;
  readonly pool: BufferPool;
  /** Kernel choices; unset means "by adapter" (benchmarks and tests set them; see features.ts); `matmul` names a kernel to force;
   * `fuse` forces the fused LoRA/activation matmul epilogues on or off (unset: on for hardware adapters);
   * `tiledAttention` forces the tiled attention kernels on or off; `ropeInAttention` false keeps RoPE a separate pass;
   * `normFuse` forces the layer norms read through by their matmuls (model/normed-input.ts). */
  readonly tuning: {
    tiledMatmul?: boolean; matmul?: string; subgroups?: boolean; fuse?: boolean; tiledAttention?: boolean; ropeInAttention?: boolean;
    normFuse?: boolean;
  } = {};
  /** Resolves when the device is lost (never rejects). */
  readonly lost: Promise<DeviceLostError>;
  private lostError: DeviceLostError | null = null;
  private readonly errors: string[] = [];
  private readonly sizes = new Map<GPUBuffer, { size: number; purpose: Purpose }>();
  private readonly lostListeners = new Set<(e: DeviceLostError) => void>();
  private destroyed = false;
  private placeholderBuffer: GPUBuffer | null = null;

  /**
   * `limits` may tighten the device's limits (never loosen them): tests use it to exercise the
   * paths a smaller adapter takes (split embeddings, chunked logits) on any machine.
   */
  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterSummary,
    limits?: Partial<Record<keyof GPUSupportedLimits, number>>,
    /** The WGSL language features of the GPU object (`subgroup_id`, ...). */
    readonly wgslFeatures: ReadonlySet<string> = new Set(),
  ) {
    this.limits = limits ? tighten(device.limits, limits) : device.limits;
    this.features = new Set(device.features as unknown as Iterable<string>);
    this.pipelines = new PipelineCache(device);
    this.uniforms = new UniformArena(this);
    this.pool = new BufferPool(this);
    this.lost = device.lost.then((info) => {
      const err = new DeviceLostError(this.destroyed ? 'destroyed' : `${info.reason}: ${info.message}`);
      this.lostError = err;
      for (const l of this.lostListeners) l(err);
      return err;
    });
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      if (this.errors.length < 20) this.errors.push(e.message);
    });
  }

  /** A small buffer for bindings a dispatch declares but does not use (an absent bias). */
  get placeholder(): GPUBuffer {
    this.placeholderBuffer ??= this.createBuffer(16, 'scratch', 'placeholder');
    return this.placeholderBuffer;
  }

  get isLost(): boolean {
    return this.lostError !== null;
  }

  onLost(listener: (e: DeviceLostError) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** Throws if the device is lost or reported an error (a dropped submit reads back stale data). */
  checkErrors(): void {
    if (this.lostError && !this.destroyed) throw this.lostError;
    if (this.errors.length) {
      const msg = this.errors.splice(0).join('\n');
      throw new Error(`WebGPU error: ${msg}`);
    }
  }

  /** Throws a LimitError when one binding of `bytes` exceeds maxStorageBufferBindingSize. */
  checkBinding(bytes: number, what: string): void {
    const max = this.limits.maxStorageBufferBindingSize;
    if (bytes > max) throw new LimitError('maxStorageBufferBindingSize', bytes, max, what);
  }

  createBuffer(size: number, purpose: Purpose, label: string, usage: number = STORAGE_USAGE): GPUBuffer {
    if (this.lostError) throw this.lostError;
    const bytes = Math.max(16, Math.ceil(size / 16) * 16);
    if (bytes > this.limits.maxBufferSize) {
      throw new LimitError('maxBufferSize', bytes, this.limits.maxBufferSize, `buffer "${label}"`);
    }
    if (usage & BufferUsage.STORAGE) this.checkBinding(bytes, `buffer "${label}"`);
    const buffer = this.device.createBuffer({ label, size: bytes, usage });
    this.sizes.set(buffer, { size: bytes, purpose });
    this.ledger.add(purpose, bytes);
    return buffer;
  }

  /** Moves a live buffer's bytes to another purpose in the ledger (the pool lends buffers on). */
  repurpose(buffer: GPUBuffer, purpose: Purpose): void {
    const rec = this.sizes.get(buffer);
    if (!rec) return;
    this.ledger.remove(rec.purpose, rec.size);
    this.ledger.add(purpose, rec.size);
    this.sizes.set(buffer, { size: rec.size, purpose });
  }

  destroyBuffer(buffer: GPUBuffer): void {
    const rec = this.sizes.get(buffer);
    if (!rec) return;
    this.sizes.delete(buffer);
    this.ledger.remove(rec.purpose, rec.size);
    buffer.destroy();
  }

  /** Creates a storage buffer holding `data`. */
  upload(data: ArrayBufferView, purpose: Purpose, label: string): GPUBuffer {
    const buffer = this.createBuffer(data.byteLength, purpose, label);
    this.write(buffer, data);
    return buffer;
  }

  write(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength % 4 === 0) {
      this.device.queue.writeBuffer(buffer, offset, bytes);
      return;
    }
    const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
    padded.set(bytes);
    this.device.queue.writeBuffer(buffer, offset, padded);
  }

  /** Records one dispatch of `spec` into `program`, with its params in the uniform arena at binding 0. */
  async record(
    program: Program,
    spec: KernelSpec,
    bindings: readonly (GPUBufferBinding | GPUBuffer)[],
    workgroups: readonly [number, number?, number?],
  ): Promise<void> {
    const pipeline = await this.pipelines.pipeline(spec);
    if (bindings.length !== spec.bindings.length) {
      throw new Error(`${spec.name}.${spec.entry}: ${bindings.length} bindings given, ${spec.bindings.length} expected`);
    }
    const bindGroup = this.device.createBindGroup({
      label: `${spec.name}.${spec.entry}`,
      layout: this.pipelines.layout(spec.bindings),
      entries: bindings.map((b, binding) => ({ binding, resource: 'buffer' in b ? b : { buffer: b } })),
    });
    const [x, y = 1, z = 1] = workgroups;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    for (const [n, axis] of [[x, 'x'], [y, 'y'], [z, 'z']] as const) {
      if (n > max) throw new LimitError('maxComputeWorkgroupsPerDimension', n, max, `${spec.name}.${spec.entry} grid ${axis}`);
    }
    if (x === 0 || y === 0 || z === 0) return;
    const writes = bindings.reduce((n, b, i) => n + (spec.bindings[i] !== 'rw' ? 0 : 'buffer' in b ? (b.size ?? b.buffer.size - (b.offset ?? 0)) : b.size), 0);
    program.add({ kind: 'dispatch', label: `${spec.name}.${spec.entry}`, pipeline, bindGroup, workgroups: [x, y, z], writes });
  }

  /** Splits a 1-D workgroup count over x and y so that neither exceeds the adapter's limit. */
  grid(count: number): [number, number, number] {
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (count <= max) return [count, 1, 1];
    const y = Math.ceil(count / max);
    if (y > max) throw new LimitError('maxComputeWorkgroupsPerDimension', count, max * max, 'dispatch');
    return [Math.ceil(count / y), y, 1];
  }

  /** Encodes and submits programs as one command buffer. */
  run(...programs: Program[]): void {
    if (this.lostError) throw this.lostError;
    const encoder = this.device.createCommandEncoder();
    for (const p of programs) p.encode(encoder);
    this.device.queue.submit([encoder.finish()]);
  }

  /**
   * Copies `size` bytes at `offset` of `buffer` to the CPU; rejects if the device is lost or erred.
   * Large reads go through a bounded staging buffer, piece by piece.
   */
  async read(buffer: GPUBuffer, offset = 0, size = buffer.size - offset): Promise<ArrayBuffer> {
    if (this.lostError) throw this.lostError;
    const out = new Uint8Array(size);
    const piece = Math.min(Math.ceil(size / 4) * 4, READ_PIECE);
    const staging = this.pool.acquire(piece, 'staging', 'readback', BufferUsage.MAP_READ | BufferUsage.COPY_DST);
    try {
      for (let done = 0; done < size; done += piece) {
        const n = Math.min(piece, Math.ceil((size - done) / 4) * 4);
        const encoder = this.device.createCommandEncoder();
        encoder.copyBufferToBuffer(buffer, offset + done, staging, 0, n);
        this.device.queue.submit([encoder.finish()]);
        const mapped = staging.mapAsync(MapMode.READ, 0, n);
        await Promise.race([mapped, this.lost.then((e) => Promise.reject(e))]);
        out.set(new Uint8Array(staging.getMappedRange(0, n)).subarray(0, Math.min(n, size - done)), done);
        staging.unmap();
      }
      this.checkErrors();
      return out.buffer;
    } finally {
      this.pool.release(staging);
    }
  }

  async readF32(buffer: GPUBuffer, offset = 0, count?: number): Promise<Float32Array> {
    const size = count === undefined ? buffer.size - offset : count * 4;
    return new Float32Array(await this.read(buffer, offset, size));
  }

  /** Waits for all submitted work; used at the end of runs, never inside a training step. */
  async sync(): Promise<void> {
    await Promise.race([this.device.queue.onSubmittedWorkDone(), this.lost]);
    this.checkErrors();
  }

  /** Frees every buffer and the device. Safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of [...this.sizes.keys()]) this.destroyBuffer(b);
    this.device.destroy();
  }
}

function tighten(real: GPUSupportedLimits, want: Partial<Record<keyof GPUSupportedLimits, number>>): GPUSupportedLimits {
  const out: Record<string, unknown> = {};
  for (const key in real) out[key] = (real as unknown as Record<string, unknown>)[key];
  for (const [key, v] of Object.entries(want)) {
    const cur = out[key];
    if (typeof cur === 'number' && typeof v === 'number') out[key] = Math.min(cur, v);
  }
  return out as unknown as GPUSupportedLimits;
}

export interface OpenOptions {
  features?: readonly GPUFeatureName[];
  /** Tighter limits than the adapter's (see Gpu). */
  limits?: Partial<Record<keyof GPUSupportedLimits, number>>;
  /** `navigator.gpu.wgslLanguageFeatures` (or Dawn's). */
  wgslFeatures?: ReadonlySet<string>;
}

/** Requests a device with the adapter's real limits and the optional features it has. */
export async function openGpu(adapter: GPUAdapter, host: 'node' | 'browser', opts: OpenOptions = {}): Promise<Gpu> {
  const wanted = opts.features ?? WANTED_FEATURES;
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const key of LIMIT_NAMES) {
    const v = (adapter.limits as unknown as Record<string, number>)[key];
    if (typeof v === 'number') requiredLimits[key] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'tabtune' });
  return new Gpu(device, describeAdapter(adapter, host), opts.limits, opts.wgslFeatures);
}

/** The limits tabtune raises to the adapter's maximum. */
const LIMIT_NAMES = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxUniformBufferBindingSize',
  'maxBindGroups',
] as const;
