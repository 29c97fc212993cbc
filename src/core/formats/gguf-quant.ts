/**
 * Tensor data in the ggml types tabtune writes: F32, F16 and Q8_0.
 *
 * Q8_0 (ggml-quants.c, quantize_row_q8_0_ref): blocks of 32 values along a row, each stored as
 * an f16 scale d = max|x| / 127 followed by 32 int8 values round(x / d), rounding half away from
 * zero as C's roundf does. A block is 34 bytes.
 */
import { f32ToF16 } from './dtypes.ts';

export const GgmlType = { F32: 0, F16: 1, Q8_0: 8 } as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

export const QK8_0 = 32;
const Q8_0_BLOCK_BYTES = 2 + QK8_0;

export function ggmlTypeName(t: GgmlType): string {
  return t === GgmlType.F32 ? 'F32' : t === GgmlType.F16 ? 'F16' : 'Q8_0';
}

/** Bytes of one row of `ne0` values. */
export function ggmlRowBytes(type: GgmlType, ne0: number, name = 'tensor'): number {
  if (type === GgmlType.F32) return ne0 * 4;
  if (type === GgmlType.F16) return ne0 * 2;
  if (ne0 % QK8_0 !== 0) throw new RangeError(`GGUF: tensor "${name}" rows of ${ne0} values cannot be Q8_0 (needs a multiple of ${QK8_0})`);
  return (ne0 / QK8_0) * Q8_0_BLOCK_BYTES;
}

/** C's roundf: half away from zero. */
function roundf(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

export function quantizeQ8_0(x: Float32Array): Uint8Array {
  if (x.length % QK8_0 !== 0) throw new RangeError(`Q8_0 needs a multiple of ${QK8_0} values, got ${x.length}`);
  const blocks = x.length / QK8_0;
  const out = new Uint8Array(blocks * Q8_0_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  const scale = new Float32Array(1);
  for (let b = 0; b < blocks; b++) {
    const base = b * QK8_0;
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) amax = Math.max(amax, Math.abs(x[base + j]!));
    scale[0] = amax / 127;
    const d = scale[0]!;
    const id = d ? Math.fround(1 / d) : 0;
    const at = b * Q8_0_BLOCK_BYTES;
    view.setUint16(at, f32ToF16(scale)[0]!, true);
    for (let j = 0; j < QK8_0; j++) view.setInt8(at + 2 + j, roundf(Math.fround(x[base + j]! * id)));
  }
  return out;
}

/** The bytes of a tensor's values in `type`. */
export function encodeTensorData(x: Float32Array, type: GgmlType): Uint8Array {
  if (type === GgmlType.F32) return new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
  if (type === GgmlType.F16) {
    const h = f32ToF16(x);
    return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
  }
  return quantizeQ8_0(x);
}
