import type { Gpu } from '../gpu/gpu.ts';
import type { Purpose } from '../gpu/ledger.ts';
import { tensorOf, type Tensor } from '../gpu/tensor.ts';

/** Parameters start on 64-element boundaries: vec4 kernels need multiples of 4, 64 keeps rows tidy. */
const ALIGN = 64;

/** Largest parameter (in f32 elements) that fits one storage binding and one buffer. */
export function maxParamElements(gpu: Gpu): number {
  return Math.floor(Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize, 1 << 30) / 4 / ALIGN) * ALIGN;
}

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** AdamW weight decay applies (HF Trainer exempts biases and norm weights). */
  readonly decay: boolean;
}

interface Slot {
  readonly buffer: number;
  readonly offset: number;
  readonly size: number;
  readonly shape: readonly number[];
}

/** A contiguous element range of one buffer that shares a weight-decay setting. */
export interface ParamRange {
  readonly buffer: number;
  readonly offset: number;
  readonly size: number;
  readonly decay: boolean;
}

/**
 * Parameters packed into a few large buffers (each within maxStorageBufferBindingSize), so that
 * the optimizer, the gradient norm and zeroing run as one dispatch per buffer, not per tensor.
 * Gradients and optimizer moments are `mirror`s with the identical layout.
 */
export class ParamStore {
  readonly buffers: GPUBuffer[];
  private readonly byName: Map<string, Slot>;

  private constructor(
    private readonly gpu: Gpu,
    readonly purpose: Purpose,
    readonly label: string,
    private readonly layout: { slots: Map<string, Slot>; used: number[]; ranges: ParamRange[] },
  ) {
    this.byName = layout.slots;
    this.buffers = layout.used.map((n, i) => gpu.createBuffer(n * 4, purpose, `${label}.${i}`));
  }

  static create(gpu: Gpu, specs: readonly ParamSpec[], purpose: Purpose, label: string): ParamStore {
    const cap = maxParamElements(gpu);
    const slots = new Map<string, Slot>();
    const used: number[] = [];
    const ranges: ParamRange[] = [];
    // Decayed parameters first, so each buffer holds at most two ranges.
    for (const decay of [true, false]) {
      for (const spec of specs.filter((s) => s.decay === decay)) {
        const size = spec.shape.reduce((a, b) => a * b, 1);
        if (size > cap) {
          throw new Error(`parameter ${spec.name} (${size} floats) exceeds one buffer (${cap}); split it before packing`);
        }
        let b = used.length - 1;
        let offset = b >= 0 ? Math.ceil(used[b]! / ALIGN) * ALIGN : 0;
        if (b < 0 || offset + size > cap) {
          used.push(0);
          b = used.length - 1;
          offset = 0;
        }
        if (slots.has(spec.name)) throw new Error(`duplicate parameter ${spec.name}`);
        slots.set(spec.name, { buffer: b, offset, size, shape: spec.shape });
        used[b] = offset + size;
        const last = ranges[ranges.length - 1];
        if (last && last.buffer === b && last.decay === decay) {
          ranges[ranges.length - 1] = { ...last, size: offset + size - last.offset };
        } else {
          ranges.push({ buffer: b, offset, size: offset + size - offset, decay });
        }
      }
    }
    return new ParamStore(gpu, purpose, label, { slots, used: used.map((n) => Math.max(n, 1)), ranges });
  }

  /** The same layout in new buffers (gradients, Adam moments), zero-filled. */
  mirror(purpose: Purpose, label: string): ParamStore {
    return new ParamStore(this.gpu, purpose, label, this.layout);
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  get ranges(): readonly ParamRange[] {
    return this.layout.ranges;
  }

  /** Total elements of every parameter (without alignment padding). */
  get count(): number {
    let n = 0;
    for (const s of this.byName.values()) n += s.size;
    return n;
  }

  /** Used length of each buffer in elements. */
  get lengths(): readonly number[] {
    return this.layout.used;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): Tensor {
    const s = this.byName.get(name);
    if (!s) throw new Error(`${this.label}: no parameter ${name}`);
    return tensorOf(this.buffers[s.buffer]!, s.shape, s.offset);
  }

  /** A tensor at the start of buffer `i` covering its used length. */
  whole(i: number): Tensor {
    return tensorOf(this.buffers[i]!, [this.layout.used[i]!], 0);
  }

  destroy(): void {
    for (const b of this.buffers) this.gpu.destroyBuffer(b);
  }
}
