import { hasShaderF16 } from '../gpu/features.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { packHalves, unpackHalves, type F16Weight } from '../kernels/matmul-f16.ts';
import type { ParamSpec, ParamStore } from './param-store.ts';

/**
 * Mixed precision (`--precision`): with f16 the base's linear weights are held as IEEE halves (half
 * the memory and bandwidth) and the matmuls against them accumulate in f32. Embeddings, norms,
 * activations, the loss, LoRA weights and optimizer state stay f32, as in PyTorch autocast with
 * f32 master weights.
 */
export type Precision = 'f32' | 'f16';
export type PrecisionChoice = Precision | 'auto';
export const PRECISION_CHOICES: readonly PrecisionChoice[] = ['f32', 'f16', 'auto'];

/** auto: f16 where the adapter offers shader-f16, else f32. An f16 request without it is an error. */
export function resolvePrecision(gpu: Gpu, want: PrecisionChoice = 'f32'): Precision {
  if (want === 'auto') return hasShaderF16(gpu) ? 'f16' : 'f32';
  if (want === 'f16' && !hasShaderF16(gpu)) {
    throw new Error(`--precision f16 needs the WebGPU feature shader-f16, which ${gpu.adapter.description} does not offer (use f32 or auto)`);
  }
  return want;
}

const LINEAR = /^layers\.\d+\.(qkv|o|up|down)\.weight$/;
const stemOf = (param: string): string => param.slice(0, -'.weight'.length);

/** The f16 layout: each linear weight [out, in] with in % 4 == 0 becomes `<stem>.f16`, [out, in/2] words. */
export function halfSpecs(specs: readonly ParamSpec[]): ParamSpec[] {
  return specs.map((s) => {
    if (!LINEAR.test(s.name) || s.shape[1]! % 4) return s;
    return { name: `${stemOf(s.name)}.f16`, shape: [s.shape[0]!, s.shape[1]! / 2], decay: false };
  });
}

/** The f16 weight standing for `param` (`layers.N.site.weight`), or null when it is held in f32. */
export function halfWeight(store: ParamStore, param: string): F16Weight | null {
  const name = `${stemOf(param)}.f16`;
  if (!store.has(name)) return null;
  const h = store.get(name);
  return { h, out: h.shape[0]!, in: h.shape[1]! * 2 };
}

/** Writes f32 values of part of a weight (an element offset into it) as halves. */
export function writeHalves(gpu: Gpu, w: F16Weight, values: Float32Array, elementOffset: number): void {
  gpu.write(w.h.buffer, packHalves(values), (w.h.offset + elementOffset / 2) * 4);
}

/** Reads part of an f16 weight back as f32 (exports and merges of an f16-held base). */
export async function readHalves(gpu: Gpu, w: F16Weight, elementOffset: number, count: number): Promise<Float32Array> {
  const words = new Uint32Array(await gpu.read(w.h.buffer, (w.h.offset + elementOffset / 2) * 4, count * 2));
  return unpackHalves(words, count);
}
