/** Reads a GGUF file's header and metadata (the spec's little-endian layout) for the browser tests' checks. */
const SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

export interface GgufHeader {
  readonly magic: string;
  readonly version: number;
  readonly tensors: number;
  readonly metadata: Map<string, unknown>;
}

export function readGgufHeader(bytes: Uint8Array): GgufHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const u32 = () => ((at += 4), v.getUint32(at - 4, true));
  const u64 = () => ((at += 8), Number(v.getBigUint64(at - 8, true)));
  const str = () => {
    const n = u64();
    at += n;
    return new TextDecoder().decode(bytes.subarray(at - n, at));
  };
  const scalar = (type: number): unknown => {
    if (type === 8) return str();
    const size = SIZES[type];
    if (size === undefined) throw new Error(`GGUF value type ${type} at byte ${at}`);
    at += size;
    const o = at - size;
    switch (type) {
      case 0: case 7: return v.getUint8(o);
      case 1: return v.getInt8(o);
      case 2: return v.getUint16(o, true);
      case 3: return v.getInt16(o, true);
      case 4: return v.getUint32(o, true);
      case 5: return v.getInt32(o, true);
      case 6: return v.getFloat32(o, true);
      case 10: return v.getBigUint64(o, true);
      case 11: return v.getBigInt64(o, true);
      default: return v.getFloat64(o, true);
    }
  };
  const value = (type: number): unknown => {
    if (type !== 9) return scalar(type);
    const inner = u32();
    const n = u64();
    return Array.from({ length: n }, () => value(inner));
  };
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  at = 4;
  const version = u32();
  const tensors = u64();
  const count = u64();
  const metadata = new Map<string, unknown>();
  for (let i = 0; i < count; i++) {
    const key = str();
    metadata.set(key, value(u32()));
  }
  return { magic, version, tensors, metadata };
}
