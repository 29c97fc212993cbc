/**
 * GGUF v3, the file format of llama.cpp (ggml/docs/gguf.md): a header with typed key/value
 * metadata and tensor infos, then the tensor data, each tensor starting at a multiple of
 * `general.alignment`. Everything is little-endian.
 *
 * The writer is streaming-friendly: the header is computed from the tensor infos alone (their
 * byte sizes follow from shape and type), and the data is produced one tensor at a time, so a
 * model never has to sit in memory as one file.
 */
import { ggmlRowBytes, GgmlType } from './gguf-quant.ts';

export { GgmlType } from './gguf-quant.ts';

export const GGUF_MAGIC = 'GGUF';
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** gguf_type: the value types of the metadata. */
export const GgufValueType = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
} as const;

/** One metadata value, typed as GGUF stores it. */
export type GgufValue =
  | { type: 'u32' | 'i32' | 'f32' | 'u64' | 'f64'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: readonly string[] }
  | { type: 'i32[]' | 'f32[]'; value: ArrayLike<number> };

export type GgufMetadata = Map<string, GgufValue>;

export interface GgufTensorInfo {
  readonly name: string;
  /** In PyTorch order (slowest dimension first); GGUF stores ne[] reversed. */
  readonly shape: readonly number[];
  readonly type: GgmlType;
}

const SCALAR: Record<string, [number, number]> = {
  u32: [GgufValueType.UINT32, 4], i32: [GgufValueType.INT32, 4], f32: [GgufValueType.FLOAT32, 4],
  u64: [GgufValueType.UINT64, 8], f64: [GgufValueType.FLOAT64, 8], bool: [GgufValueType.BOOL, 1],
};

/** Bytes of a tensor's data (without the alignment padding). */
export function tensorByteSize(t: GgufTensorInfo): number {
  const ne0 = t.shape[t.shape.length - 1] ?? 1;
  const rows = t.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return rows * ggmlRowBytes(t.type, ne0, t.name);
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** A growable little-endian byte buffer for the header. */
class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private readonly utf8 = new TextEncoder();

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u32(v: number): void { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number): void { this.reserve(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  f32(v: number): void { this.reserve(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  f64(v: number): void { this.reserve(8); this.view.setFloat64(this.length, v, true); this.length += 8; }
  u64(v: number): void { this.reserve(8); this.view.setBigUint64(this.length, BigInt(v), true); this.length += 8; }
  u8(v: number): void { this.reserve(1); this.buf[this.length++] = v; }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  string(s: string): void {
    const b = this.utf8.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }

  padTo(alignment: number): void {
    const n = alignUp(this.length, alignment) - this.length;
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function writeScalar(w: ByteWriter, type: string, v: number | boolean): void {
  if (type === 'u32') w.u32(v as number);
  else if (type === 'i32') w.i32(v as number);
  else if (type === 'f32') w.f32(v as number);
  else if (type === 'u64') w.u64(v as number);
  else if (type === 'f64') w.f64(v as number);
  else w.u8(v ? 1 : 0);
}

function writeValue(w: ByteWriter, key: string, v: GgufValue): void {
  if (v.type === 'string') {
    w.u32(GgufValueType.STRING);
    w.string(v.value);
  } else if (v.type === 'string[]') {
    w.u32(GgufValueType.ARRAY);
    w.u32(GgufValueType.STRING);
    w.u64(v.value.length);
    for (const s of v.value) w.string(s);
  } else if (v.type === 'i32[]' || v.type === 'f32[]') {
    const elem = v.type === 'i32[]' ? 'i32' : 'f32';
    w.u32(GgufValueType.ARRAY);
    w.u32(SCALAR[elem]![0]);
    w.u64(v.value.length);
    for (let i = 0; i < v.value.length; i++) writeScalar(w, elem, v.value[i]!);
  } else {
    const t = SCALAR[v.type];
    if (!t) throw new Error(`GGUF metadata "${key}": unknown value type ${String((v as { type: string }).type)}`);
    if (typeof v.value === 'number' && !Number.isFinite(v.value)) throw new RangeError(`GGUF metadata "${key}" is not finite`);
    w.u32(t[0]);
    writeScalar(w, v.type, v.value as number | boolean);
  }
}

/** Where each tensor's data goes, relative to the start of the data section. */
export interface GgufLayout {
  /** Magic, version, counts, metadata, tensor infos, and the padding up to the data. */
  readonly header: Uint8Array;
  readonly offsets: readonly number[];
  readonly sizes: readonly number[];
  /** Total file size. */
  readonly fileSize: number;
  readonly alignment: number;
}

/** Encodes the header of a GGUF file holding `tensors` (in this order). */
export function ggufLayout(metadata: GgufMetadata, tensors: readonly GgufTensorInfo[]): GgufLayout {
  const alignValue = metadata.get('general.alignment');
  const alignment = alignValue?.type === 'u32' ? alignValue.value : GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    throw new RangeError(`general.alignment must be a multiple of 8, got ${alignment}`);
  }
  const names = new Set<string>();
  const w = new ByteWriter();
  w.bytes(new TextEncoder().encode(GGUF_MAGIC));
  w.u32(GGUF_VERSION);
  w.u64(tensors.length);
  w.u64(metadata.size);
  for (const [key, value] of metadata) {
    w.string(key);
    writeValue(w, key, value);
  }
  const offsets: number[] = [];
  const sizes: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`GGUF: tensor "${t.name}" is written twice`);
    names.add(t.name);
    if (t.shape.length === 0 || t.shape.length > 4) throw new RangeError(`GGUF: tensor "${t.name}" has ${t.shape.length} dimensions (1 to 4 allowed)`);
    w.string(t.name);
    w.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) w.u64(d);
    w.u32(t.type);
    w.u64(offset);
    const size = tensorByteSize(t);
    offsets.push(offset);
    sizes.push(size);
    offset = alignUp(offset + size, alignment);
  }
  w.padTo(alignment);
  const header = w.result();
  const last = sizes.length ? offsets[offsets.length - 1]! + sizes[sizes.length - 1]! : 0;
  return { header, offsets, sizes, fileSize: header.length + last, alignment };
}

/** A tensor to write: its info and a function that produces its encoded bytes when its turn comes. */
export interface GgufTensorSource {
  readonly info: GgufTensorInfo;
  data(): Promise<Uint8Array>;
}

/**
 * The file as a sequence of byte chunks (header, then each tensor and its padding). A consumer
 * writes them to a file or collects them into a Blob; only one tensor is in memory at a time.
 */
export async function* ggufChunks(metadata: GgufMetadata, tensors: readonly GgufTensorSource[]): AsyncGenerator<Uint8Array> {
  const layout = ggufLayout(metadata, tensors.map((t) => t.info));
  yield layout.header;
  for (let i = 0; i < tensors.length; i++) {
    const bytes = await tensors[i]!.data();
    if (bytes.length !== layout.sizes[i]) {
      throw new Error(`GGUF: tensor "${tensors[i]!.info.name}" encoded to ${bytes.length} bytes, expected ${layout.sizes[i]}`);
    }
    yield bytes;
    if (i < tensors.length - 1) {
      const pad = layout.offsets[i + 1]! - layout.offsets[i]! - bytes.length;
      if (pad > 0) yield new Uint8Array(pad);
    }
  }
}
