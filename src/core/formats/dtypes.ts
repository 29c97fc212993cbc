/**
 * safetensors element types and CPU conversions between float formats.
 *
 * Conversions round to nearest, ties to even, the way PyTorch does (`tensor.to(torch.bfloat16)`,
 * `tensor.half()`): any bf16 NaN becomes the quiet NaN 0x7FC0, f16 NaN becomes 0x7E00, values past the
 * largest finite number become ±Infinity, and f16 keeps subnormals.
 */

/** Element types that can be read or written. */
export type LoadableDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';
/** Element types that a header may declare: their sizes are checked, but they cannot be converted. */
export type Fp8Dtype = 'F8_E4M3' | 'F8_E5M2' | 'F8_E8M0';
export type Dtype = LoadableDtype | Fp8Dtype;

const SIZES: Record<Dtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  F8_E8M0: 1,
};

/** Dtypes newer safetensors versions know but that pack several elements per byte; rejected on open. */
const SUB_BYTE = new Set(['F4', 'F6_E2M3', 'F6_E3M2']);

export const DTYPES: readonly Dtype[] = Object.keys(SIZES) as Dtype[];

export function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(SIZES, s);
}

export function isSubByteDtype(s: string): boolean {
  return SUB_BYTE.has(s);
}

export function isFp8(d: Dtype): d is Fp8Dtype {
  return d === 'F8_E4M3' || d === 'F8_E5M2' || d === 'F8_E8M0';
}

/** Bytes per element. */
export function dtypeSize(d: Dtype): number {
  return SIZES[d];
}

// Scratch views for bit casts of one value.
const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

function f32BitsToBf16(bits: number): number {
  // NaN: exponent all ones and a non-zero mantissa.
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) return 0x7fc0;
  const lsb = (bits >>> 16) & 1;
  return ((bits + 0x7fff + lsb) >>> 16) & 0xffff;
}

/** float32 → bfloat16 bits, round to nearest even (as torch). */
export function f32ToBf16(x: Float32Array): Uint16Array<ArrayBuffer> {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f32BitsToBf16(bits[i]!);
  return out;
}

/** bfloat16 bits → float32 (exact). */
export function bf16ToF32(x: Uint16Array): Float32Array<ArrayBuffer> {
  const out = new Float32Array(x.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < x.length; i++) bits[i] = x[i]! << 16;
  return out;
}

/** One float32 (given as its bit pattern) → float16 bits, round to nearest even. */
export function f32BitsToF16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | (mant !== 0 ? 0x7e00 : 0x7c00);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero). Values below 2^-25 round to zero; 2^-25 itself ties to even (zero).
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e; // 14..24
    const half = 1 << (shift - 1);
    const rem = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rem > half || (rem === half && (r & 1) !== 0)) r++;
    return sign | r; // r may reach 0x400, the smallest normal: that encoding is correct as is
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) !== 0)) r++; // a carry into the exponent is correct (up to Inf)
  return sign | r;
}

/** float32 → float16 bits, round to nearest even (as torch). */
export function f32ToF16(x: Float32Array): Uint16Array<ArrayBuffer> {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f32BitsToF16(bits[i]!);
  return out;
}

/** One float16 (bits) → number (exact). */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float16 bits → float32 (exact; NaN payloads kept). */
export function f16ToF32(x: Uint16Array): Float32Array<ArrayBuffer> {
  const out = new Float32Array(x.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < x.length; i++) {
    const h = x[i]!;
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0x1f) bits[i] = sign | 0x7f800000 | (mant << 13);
    else if (exp !== 0) bits[i] = sign | ((exp + 112) << 23) | (mant << 13);
    else if (mant === 0) bits[i] = sign;
    else out[i] = (sign ? -1 : 1) * mant * 2 ** -24;
  }
  return out;
}

/** Bit pattern of a float32 value (after rounding the number to float32). */
export function f32Bits(v: number): number {
  f32Scratch[0] = v;
  return u32Scratch[0]!;
}
