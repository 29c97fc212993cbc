/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors).
 *
 * Layout: `[u64 little-endian N][N bytes of UTF-8 JSON header][data]`. The header maps tensor
 * names to `{dtype, shape, data_offsets: [begin, end)}` (offsets relative to the data section) plus
 * an optional `__metadata__` string→string map.
 *
 * The reader validates everything the reference reader validates, and names the file, the tensor
 * and the reason in an `InputError`. It is lazy: `open` reads the 8-byte length and the header
 * only, and `readRaw` reads one tensor's byte range.
 */
import { InputError } from '../errors.ts';
import { readText, type ByteSource, type FileTree } from './bytes.ts';
import {
  bf16ToF32,
  dtypeSize,
  f16ToF32,
  isDtype,
  isFp8,
  isSubByteDtype,
  type Dtype,
} from './dtypes.ts';
import { findDuplicateKey } from './json-keys.ts';

export type { Dtype, LoadableDtype, Fp8Dtype } from './dtypes.ts';
export { bf16ToF32, dtypeSize, f16ToF32, f32ToBf16, f32ToF16, DTYPES, isDtype } from './dtypes.ts';

/** The reference reader refuses headers longer than this. */
export const MAX_HEADER_SIZE = 100_000_000;
/** `__metadata__.format` values transformers accepts when loading a model file. */
export const ACCEPTED_FORMATS: readonly string[] = ['pt', 'tf', 'flax', 'mlx'];

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Absolute byte offset of the first byte in the file. */
  begin: number;
  /** Absolute byte offset one past the last byte in the file. */
  end: number;
}

function where(name: string): string {
  return `tensor ${JSON.stringify(name)}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Element count of a shape, or null when it is not a safe integer. */
export function numel(shape: readonly number[]): number | null {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return null;
  }
  return n;
}

/** Returns `bytes` if it is the whole of its own ArrayBuffer, else a copy that is. */
function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes as Uint8Array<ArrayBuffer>;
  }
  return bytes.slice() as Uint8Array<ArrayBuffer>;
}

/** Decodes the header text, checks it is a JSON object without duplicate keys. */
function parseHeaderText(file: string, bytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    // ignoreBOM: keep a byte-order mark in the text so that JSON.parse refuses it, as serde does.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new InputError(file, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) {
    throw new InputError(file, `header is not a JSON object (it is ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json})`);
  }
  const dup = findDuplicateKey(text);
  if (dup) {
    if (dup.path.length === 0) {
      const at = dup.key === '__metadata__' ? '__metadata__' : where(dup.key);
      throw new InputError(file, `the header lists the key ${JSON.stringify(dup.key)} more than once`, at);
    }
    const top = dup.path[0]!;
    throw new InputError(file, `duplicate key ${JSON.stringify(dup.key)}`, top === '__metadata__' ? '__metadata__' : where(top));
  }
  return json;
}

function parseEntry(file: string, name: string, v: unknown, dataStart: number): TensorInfo {
  const at = where(name);
  if (!isPlainObject(v)) throw new InputError(file, 'entry is not an object with dtype, shape and data_offsets', at);
  const dtype = v['dtype'];
  if (typeof dtype !== 'string') throw new InputError(file, 'missing "dtype" (a string)', at);
  if (!isDtype(dtype)) {
    if (isSubByteDtype(dtype)) throw new InputError(file, `dtype ${dtype} (packed sub-byte floats) is not supported`, at);
    throw new InputError(file, `unknown dtype ${JSON.stringify(dtype)}`, at);
  }
  const shape = v['shape'];
  if (!Array.isArray(shape)) throw new InputError(file, 'missing "shape" (an array of non-negative integers)', at);
  for (const d of shape) {
    if (!isCount(d)) throw new InputError(file, `shape ${JSON.stringify(shape)} must hold non-negative integers`, at);
  }
  const offsets = v['data_offsets'];
  if (!Array.isArray(offsets) || offsets.length !== 2 || !isCount(offsets[0]) || !isCount(offsets[1])) {
    throw new InputError(file, `data_offsets ${JSON.stringify(offsets)} must be [begin, end] with non-negative integers`, at);
  }
  return { name, dtype, shape: shape as number[], begin: dataStart + offsets[0], end: dataStart + offsets[1] };
}

export class SafetensorsFile {
  private constructor(
    readonly source: ByteSource,
    /** N, the header's length in bytes (including any padding). */
    readonly headerSize: number,
    readonly metadata: Record<string, string> | undefined,
    /** Every tensor, in data-offset order. */
    readonly tensors: Map<string, TensorInfo>,
  ) {}

  get name(): string {
    return this.source.name;
  }

  /** Absolute offset of the data section (8 + N). */
  get dataOffset(): number {
    return 8 + this.headerSize;
  }

  /** Reads the length and the header only, and validates both against the file size. */
  static async open(src: ByteSource): Promise<SafetensorsFile> {
    const file = src.name;
    if (src.size < 8) throw new InputError(file, `file is ${src.size} bytes, too short for the 8-byte header length`);
    const lenBytes = await src.read(0, 8);
    const n = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
    if (n > BigInt(MAX_HEADER_SIZE)) {
      throw new InputError(file, `header length ${n} is over the ${MAX_HEADER_SIZE.toLocaleString('en-US')}-byte limit (not a safetensors file?)`);
    }
    const headerSize = Number(n);
    if (8 + headerSize > src.size) {
      throw new InputError(file, `header length ${headerSize} runs past the end of the file (${src.size} bytes)`);
    }
    const json = parseHeaderText(file, await src.read(8, headerSize));
    const dataStart = 8 + headerSize;

    let metadata: Record<string, string> | undefined;
    const entries: TensorInfo[] = [];
    for (const [key, value] of Object.entries(json)) {
      if (key === '__metadata__') {
        if (value === null) continue;
        if (!isPlainObject(value)) throw new InputError(file, 'must be an object of strings', '__metadata__');
        for (const [k, s] of Object.entries(value)) {
          if (typeof s !== 'string') throw new InputError(file, `value of ${JSON.stringify(k)} is not a string`, '__metadata__');
        }
        metadata = Object.fromEntries(Object.entries(value)) as Record<string, string>;
        continue;
      }
      entries.push(parseEntry(file, key, value, dataStart));
    }

    // Sorted by offsets, the tensors must tile [0, end) exactly: first at 0, no gaps, no overlaps.
    entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
    let pos = dataStart;
    let prev: TensorInfo | undefined;
    for (const t of entries) {
      const rel = `[${t.begin - dataStart}, ${t.end - dataStart}]`;
      if (t.end < t.begin) throw new InputError(file, `data_offsets ${rel} end before they begin`, where(t.name));
      if (t.begin > pos) {
        const after = prev ? `tensor ${JSON.stringify(prev.name)}` : 'the start of the data';
        throw new InputError(file, `data_offsets ${rel} leave a gap of ${t.begin - pos} bytes after ${after}`, where(t.name));
      }
      if (t.begin < pos) {
        throw new InputError(file, `data_offsets ${rel} overlap tensor ${JSON.stringify(prev!.name)}, which ends at ${pos - dataStart}`, where(t.name));
      }
      const count = numel(t.shape);
      const need = count === null ? null : count * dtypeSize(t.dtype);
      if (need === null || !Number.isSafeInteger(need)) {
        throw new InputError(file, `shape ${JSON.stringify(t.shape)} is too large`, where(t.name));
      }
      if (t.end - t.begin !== need) {
        throw new InputError(
          file,
          `data_offsets ${rel} hold ${t.end - t.begin} bytes, but shape ${JSON.stringify(t.shape)} of ${t.dtype} needs ${need}`,
          where(t.name),
        );
      }
      pos = t.end;
      prev = t;
    }
    if (pos > src.size) {
      throw new InputError(file, `data ends at byte ${pos}, past the end of the file (${src.size} bytes): the file is truncated`, where(prev!.name));
    }
    if (pos < src.size) {
      const last = prev ? `tensor ${JSON.stringify(prev.name)}` : 'the header (there are no tensors)';
      throw new InputError(file, `${src.size - pos} trailing bytes after ${last}`);
    }
    return new SafetensorsFile(src, headerSize, metadata, new Map(entries.map((t) => [t.name, t])));
  }

  /** Tensor names in data-offset order. */
  names(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): TensorInfo | undefined {
    return this.tensors.get(name);
  }

  private require(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new InputError(this.name, 'no such tensor in this file', where(name));
    return t;
  }

  /**
   * Exactly the tensor's bytes. The result owns its ArrayBuffer (offset 0), so it can be viewed as
   * any typed array and modified without touching the source.
   */
  async readRaw(name: string): Promise<Uint8Array<ArrayBuffer>> {
    const t = this.require(name);
    if (t.end === t.begin) return new Uint8Array(0);
    return owned(await this.source.read(t.begin, t.end - t.begin));
  }

  /** Reads an F32, F16, BF16 or F64 tensor as float32 (on the CPU; for small tensors and tests). */
  async readF32(name: string): Promise<Float32Array<ArrayBuffer>> {
    const t = this.require(name);
    return toF32(this.name, t, await this.readRaw(name));
  }
}

/** Converts a tensor's raw bytes (owning their buffer) to float32. */
export function toF32(file: string, t: Pick<TensorInfo, 'name' | 'dtype'>, raw: Uint8Array): Float32Array<ArrayBuffer> {
  const bytes = owned(raw);
  switch (t.dtype) {
    case 'F32':
      return new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
    case 'F16':
      return f16ToF32(new Uint16Array(bytes.buffer, 0, bytes.byteLength / 2));
    case 'BF16':
      return bf16ToF32(new Uint16Array(bytes.buffer, 0, bytes.byteLength / 2));
    case 'F64':
      return Float32Array.from(new Float64Array(bytes.buffer, 0, bytes.byteLength / 8));
    default:
      if (isFp8(t.dtype)) {
        throw new InputError(file, `${t.dtype} (8-bit float) weights are not supported; use an F32, F16 or BF16 checkpoint`, where(t.name));
      }
      throw new InputError(file, `${t.dtype} is not a floating-point dtype and cannot be read as weights`, where(t.name));
  }
}

/** A model's weights: one `model.safetensors`, or a sharded checkpoint with an index. */
export class SafetensorsModel {
  private constructor(
    /** The files, in the order of first use (the single file, or the shards). */
    readonly files: SafetensorsFile[],
    private readonly where_: Map<string, SafetensorsFile>,
    /** The index's `metadata` (for example `total_size`) when the checkpoint is sharded. */
    readonly indexMetadata?: Record<string, unknown>,
  ) {}

  /** Opens `model.safetensors`, or else `model.safetensors.index.json` and every shard it names. */
  static async open(tree: FileTree): Promise<SafetensorsModel> {
    const single = await tree.open(SINGLE_FILE);
    if (single) {
      const f = await SafetensorsFile.open(single);
      return new SafetensorsModel([f], new Map(f.names().map((n) => [n, f])));
    }
    const index = await tree.open(INDEX_FILE);
    if (!index) throw new InputError(tree.name, `no ${SINGLE_FILE} or ${INDEX_FILE} in this folder`);
    return SafetensorsModel.openSharded(tree, index);
  }

  /** Wraps files that are already open (for example an adapter's single file). */
  static fromFile(file: SafetensorsFile): SafetensorsModel {
    return new SafetensorsModel([file], new Map(file.names().map((n) => [n, file])));
  }

  private static async openSharded(tree: FileTree, index: ByteSource): Promise<SafetensorsModel> {
    const file = index.name;
    const text = await readText(index);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new InputError(file, `not valid JSON (${(e as Error).message})`);
    }
    if (!isPlainObject(json)) throw new InputError(file, 'not a JSON object');
    const dup = findDuplicateKey(text);
    if (dup) throw new InputError(file, `duplicate key ${JSON.stringify(dup.key)}`, dup.path.join('.') || undefined);
    const map = json['weight_map'];
    if (!isPlainObject(map)) throw new InputError(file, 'missing "weight_map" (an object of tensor name → shard file)');
    const meta = json['metadata'];

    const byShard = new Map<string, string[]>();
    for (const [tensor, shard] of Object.entries(map)) {
      if (typeof shard !== 'string' || shard === '') throw new InputError(file, 'weight_map value must be a shard file name', `weight_map ${where(tensor)}`);
      if (shard.startsWith('/') || shard.split(/[\\/]/).includes('..')) {
        throw new InputError(file, `shard path ${JSON.stringify(shard)} leaves the model folder`, `weight_map ${where(tensor)}`);
      }
      let list = byShard.get(shard);
      if (!list) byShard.set(shard, (list = []));
      list.push(tensor);
    }
    if (byShard.size === 0) throw new InputError(file, 'weight_map is empty');

    const shards = await Promise.all(
      [...byShard.keys()].map(async (shard) => {
        const src = await tree.open(shard);
        if (!src) {
          const names = byShard.get(shard)!;
          throw new InputError(
            file,
            `shard file ${JSON.stringify(shard)} is missing (it should hold ${names.length} tensors)`,
            `weight_map ${where(names[0]!)}`,
          );
        }
        return SafetensorsFile.open(src);
      }),
    );
    const located = new Map<string, SafetensorsFile>();
    let i = 0;
    for (const [shard, tensors] of byShard) {
      const f = shards[i++]!;
      for (const t of tensors) {
        if (!f.tensors.has(t)) {
          throw new InputError(f.name, `${INDEX_FILE} maps this tensor to ${JSON.stringify(shard)}, but the shard does not hold it`, where(t));
        }
        located.set(t, f);
      }
    }
    return new SafetensorsModel(shards, located, isPlainObject(meta) ? meta : undefined);
  }

  /** Tensor names: file order for a single file, weight_map order for a sharded checkpoint. */
  names(): string[] {
    return [...this.where_.keys()];
  }

  has(name: string): boolean {
    return this.where_.has(name);
  }

  info(name: string): (TensorInfo & { file: SafetensorsFile }) | undefined {
    const f = this.where_.get(name);
    const t = f?.tensors.get(name);
    return f && t ? { ...t, file: f } : undefined;
  }

  private fileOf(name: string): SafetensorsFile {
    const f = this.where_.get(name);
    if (!f) throw new InputError(this.files[0]?.name ?? SINGLE_FILE, 'no such tensor in the checkpoint', where(name));
    return f;
  }

  readRaw(name: string): Promise<Uint8Array<ArrayBuffer>> {
    return this.fileOf(name).readRaw(name);
  }

  readF32(name: string): Promise<Float32Array<ArrayBuffer>> {
    return this.fileOf(name).readF32(name);
  }
}

// ---------------------------------------------------------------------------------------------
// Writer

export interface TensorToWrite {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Little-endian element data; any typed array is taken as its bytes. */
  data: Uint8Array | Float32Array | Uint16Array | ArrayBufferView;
}

function bytesOf(v: ArrayBufferView): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function checkMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = { format: 'pt' };
  for (const [k, v] of Object.entries(metadata ?? {})) {
    if (typeof v !== 'string') throw new TypeError(`safetensors metadata ${JSON.stringify(k)} must be a string`);
    out[k] = v;
  }
  if (!ACCEPTED_FORMATS.includes(out['format']!)) {
    throw new RangeError(
      `safetensors metadata format ${JSON.stringify(out['format'])} would be refused by transformers`
        + ` (use one of ${ACCEPTED_FORMATS.join(', ')})`,
    );
  }
  return out;
}

/**
 * The 8-byte length plus the header padded with spaces to a multiple of 8, for tensors packed
 * contiguously from 0 in the given order. `dataSize` is the total size of the data section.
 * Useful to stream a large file: write `header`, then each tensor's bytes in order.
 */
export function encodeSafetensorsHeader(
  tensors: readonly Pick<TensorToWrite, 'name' | 'dtype' | 'shape'>[],
  metadata?: Record<string, string>,
): { header: Uint8Array; dataSize: number; offsets: [number, number][] } {
  const obj: Record<string, unknown> = {};
  // Object.defineProperty keeps a tensor named "__proto__" as a plain key.
  Object.defineProperty(obj, '__metadata__', { value: checkMetadata(metadata), enumerable: true, writable: true, configurable: true });
  let offset = 0;
  const offsets: [number, number][] = [];
  for (const t of tensors) {
    if (t.name === '__metadata__') throw new RangeError('a tensor cannot be named "__metadata__"');
    if (Object.prototype.hasOwnProperty.call(obj, t.name)) throw new RangeError(`tensor ${JSON.stringify(t.name)} is given twice`);
    if (!isDtype(t.dtype)) throw new RangeError(`tensor ${JSON.stringify(t.name)}: unknown dtype ${JSON.stringify(t.dtype)}`);
    if (!t.shape.every(isCount)) throw new RangeError(`tensor ${JSON.stringify(t.name)}: bad shape ${JSON.stringify(t.shape)}`);
    const count = numel(t.shape);
    if (count === null) throw new RangeError(`tensor ${JSON.stringify(t.name)}: shape too large`);
    const size = count * dtypeSize(t.dtype);
    const entry = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + size] };
    Object.defineProperty(obj, t.name, { value: entry, enumerable: true, writable: true, configurable: true });
    offsets.push([offset, offset + size]);
    offset += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(obj));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const header = new Uint8Array(8 + padded);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  header.fill(0x20, 8 + json.byteLength);
  return { header, dataSize: offset, offsets };
}

/**
 * A complete safetensors file in the reference layout: header JSON padded with spaces to a
 * multiple of 8, `__metadata__` always present with `format: "pt"` (merged with `metadata`; a
 * given `format` must be one transformers accepts), tensors packed from 0 in the given order.
 */
export function writeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const { header, dataSize, offsets } = encodeSafetensorsHeader(tensors, metadata);
  const out = new Uint8Array(header.byteLength + dataSize);
  out.set(header, 0);
  tensors.forEach((t, i) => {
    const [b, e] = offsets[i]!;
    const bytes = bytesOf(t.data);
    if (bytes.byteLength !== e - b) {
      throw new RangeError(
        `tensor ${JSON.stringify(t.name)}: data has ${bytes.byteLength} bytes,`
          + ` but shape ${JSON.stringify(t.shape)} of ${t.dtype} needs ${e - b}`,
      );
    }
    out.set(bytes, header.byteLength + b);
  });
  return out;
}

/** Shard file name as transformers writes it: `model-00001-of-00003.safetensors`. */
export function shardName(i: number, count: number, prefix = 'model'): string {
  const pad = (k: number) => String(k).padStart(5, '0');
  return `${prefix}-${pad(i + 1)}-of-${pad(count)}.safetensors`;
}

/**
 * Splits tensors into shards of at most `maxShardBytes` of data (a tensor larger than that gets a
 * shard of its own), in the given order. Returns file name → bytes: `model.safetensors` alone when
 * everything fits in one shard, else the shards plus `model.safetensors.index.json`
 * (`{"metadata": {"total_size"}, "weight_map"}` with the weight map sorted by name).
 */
export function writeShardedSafetensors(
  tensors: readonly TensorToWrite[],
  opts: { maxShardBytes: number; metadata?: Record<string, string> },
): Record<string, Uint8Array> {
  const groups: TensorToWrite[][] = [];
  let current: TensorToWrite[] = [];
  let size = 0;
  let total = 0;
  for (const t of tensors) {
    const n = bytesOf(t.data).byteLength;
    if (current.length > 0 && size + n > opts.maxShardBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += n;
    total += n;
  }
  groups.push(current);
  if (groups.length === 1) return { [SINGLE_FILE]: writeSafetensors(tensors, opts.metadata) };
  const files: Record<string, Uint8Array> = {};
  const weightMap: [string, string][] = [];
  groups.forEach((g, i) => {
    const name = shardName(i, groups.length);
    files[name] = writeSafetensors(g, opts.metadata);
    for (const t of g) weightMap.push([t.name, name]);
  });
  weightMap.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const index = { metadata: { total_size: total }, weight_map: Object.fromEntries(weightMap) };
  files[INDEX_FILE] = new TextEncoder().encode(JSON.stringify(index, null, 2) + '\n');
  return files;
}
