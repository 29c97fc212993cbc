import type { Gpu } from '../gpu/gpu.ts';
import { dequantizeRows, quantizeRows, type Q8Weight } from '../kernels/matmul-q8.ts';
import { dequantizeNf4, q4Groups, q4WordsPerRow, quantizeNf4, type Q4Weight } from '../kernels/matmul-q4.ts';
import type { ModelConfig } from './config.ts';
import { dims } from './layout.ts';
import type { ParamSpec, ParamStore } from './param-store.ts';

/**
 * How the base model's linear weights (q|k|v, o, gate|up, down) are held on the GPU: f32, int8 with
 * per-row scales, or NF4 with one scale per 64 inputs (QLoRA). Embeddings and norms stay f32; a
 * quantised base is frozen (LoRA, evaluation and generation), and its values are quantised on the
 * CPU as each tensor loads.
 */
export type BaseQuant = 'none' | 'int8' | 'int4';

/** How a caller asks for a quantised base: `quant`, or the older `int8: true`. */
export interface QuantOption {
  readonly quant?: BaseQuant;
  readonly int8?: boolean;
}

export const BASE_QUANTS: readonly BaseQuant[] = ['none', 'int8', 'int4'];

const LINEAR = /^layers\.\d+\.(qkv|o|up|down)\.weight$/;
const stemOf = (param: string) => param.slice(0, -'.weight'.length);

/**
 * What an adapter trained on a quantised base is, for hosts to say when they write or export it.
 * As in QLoRA, the adapter learned to correct the quantised model: on the full-precision base it
 * behaves close to, not exactly as, in training. NF4 here is bitsandbytes' `nf4` with blocksize 64
 * and no double quantisation (identical blocks whenever in_features is a multiple of 64).
 */
export function quantExportNote(quant: BaseQuant): string | null {
  if (quant === 'none') return null;
  const base = quant === 'int4' ? 'an NF4 (4-bit) base' : 'an int8 base';
  const same = quant === 'int4' ? 'bitsandbytes nf4, blocksize 64, no double quantisation' : 'int8 with per-row absmax scales';
  return `this adapter was trained against ${base} (QLoRA): on the full-precision base it behaves close to, not exactly as, in training; ` +
    `for the trained behaviour load the base quantised the same way (${same})`;
}

/** The specs with each linear weight replaced by its quantised words and scales. */
export function quantizedSpecs(specs: ParamSpec[], quant: BaseQuant): ParamSpec[] {
  if (quant === 'none') return specs;
  return specs.flatMap((s) => {
    if (!LINEAR.test(s.name)) return [s];
    const [rows, cols] = [s.shape[0]!, s.shape[1]!];
    const stem = stemOf(s.name);
    if (quant === 'int4') {
      return [
        { name: `${stem}.q4`, shape: [rows, q4WordsPerRow(cols)], decay: false },
        { name: `${stem}.scale`, shape: [rows, q4Groups(cols)], decay: false },
      ];
    }
    // int8 packs four per word along the input, so it needs in_features % 4 == 0 (else the weight stays f32).
    if (cols % 4) return [s];
    return [{ name: `${stem}.q8`, shape: [rows, cols / 4], decay: false }, { name: `${stem}.scale`, shape: [rows], decay: false }];
  });
}

/** Which quantisation a parameter store holds. */
export function baseQuantOf(store: ParamStore): BaseQuant {
  if (store.names.some((n) => n.endsWith('.q4'))) return 'int4';
  if (store.names.some((n) => n.endsWith('.q8'))) return 'int8';
  return 'none';
}

/**
 * The quantised form of the linear weight `stem` (e.g. `layers.0.qkv`) with `inF` input features,
 * or null when it is f32. (NF4 rows are padded to whole groups, so the store alone cannot say inF.)
 */
export function quantizedLinear(store: ParamStore, stem: string, inF: number): Q8Weight | Q4Weight | null {
  if (store.has(`${stem}.q4`)) {
    const q4 = store.get(`${stem}.q4`);
    return { q4, scale: store.get(`${stem}.scale`), out: q4.shape[0]!, in: inF };
  }
  if (store.has(`${stem}.q8`)) {
    const q = store.get(`${stem}.q8`);
    return { q, scale: store.get(`${stem}.scale`), out: q.shape[0]!, in: inF };
  }
  return null;
}

/** in_features of a layer's linear weight in tabtune's [out, in] layout. */
export function linearInFeatures(cfg: ModelConfig, site: 'qkv' | 'o' | 'up' | 'down'): number {
  const d = dims(cfg);
  return site === 'o' ? d.qDim : site === 'down' ? d.inner : d.H;
}

/**
 * Writes rows of a linear weight (`values`, whole rows starting at element `offset` of the f32
 * parameter) in the store's quantised form. Rows quantise independently, so each Hugging Face
 * tensor of a fused weight (q, k, v) goes on its own.
 */
export function writeQuantized(gpu: Gpu, store: ParamStore, param: string, cols: number, offset: number, values: Float32Array): void {
  const w = quantizedLinear(store, stemOf(param), cols);
  if (!w) throw new Error(`${param} is not a quantised weight`);
  const rows = values.length / cols;
  const row0 = offset / cols;
  const sc = w.scale;
  if ('q4' in w) {
    const { words, scales } = quantizeNf4(values, rows, cols);
    gpu.write(w.q4.buffer, words, (w.q4.offset + row0 * q4WordsPerRow(cols)) * 4);
    gpu.write(sc.buffer, scales, (sc.offset + row0 * q4Groups(cols)) * 4);
    return;
  }
  const { words, scales } = quantizeRows(values, rows, cols);
  gpu.write(w.q.buffer, words, (w.q.offset + offset / 4) * 4);
  gpu.write(sc.buffer, scales, (sc.offset + row0) * 4);
}

/** Values of whole rows of a quantised weight, dequantised (exports of a quantised base are approximate). */
export async function readQuantized(gpu: Gpu, store: ParamStore, param: string, cols: number, offset: number, count: number): Promise<Float32Array> {
  const w = quantizedLinear(store, stemOf(param), cols);
  if (!w) throw new Error(`${param} is not a quantised weight`);
  const rows = count / cols;
  const row0 = offset / cols;
  if ('q4' in w) {
    const wpr = q4WordsPerRow(cols);
    const groups = q4Groups(cols);
    const words = new Uint32Array(await gpu.read(w.q4.buffer, (w.q4.offset + row0 * wpr) * 4, rows * wpr * 4));
    const scales = await gpu.readF32(w.scale.buffer, (w.scale.offset + row0 * groups) * 4, rows * groups);
    return dequantizeNf4(words, scales, rows, cols);
  }
  const words = new Uint32Array(await gpu.read(w.q.buffer, (w.q.offset + offset / 4) * 4, count));
  const scales = await gpu.readF32(w.scale.buffer, (w.scale.offset + row0) * 4, rows);
  return dequantizeRows(words, scales, rows, cols);
}
