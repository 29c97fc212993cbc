import { InputError } from '../errors.ts';

/**
 * Platform-free access to file contents. A ByteSource reads ranges lazily, so a 1 GB checkpoint is
 * never held in one ArrayBuffer; platform code implements it over Node files, browser Files/Blobs,
 * OPFS, or HTTP range requests.
 */
export interface ByteSource {
  /** Name used in error messages (a file name or URL). */
  readonly name: string;
  readonly size: number;
  /** Reads exactly `length` bytes at `offset`, or rejects. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A folder of files (a model or adapter directory), wherever it lives. */
export interface FileTree {
  readonly name: string;
  /** Opens a file by its path relative to the folder, or returns null when it is absent. */
  open(path: string): Promise<ByteSource | null>;
}

export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      if (offset < 0 || offset + length > bytes.byteLength) {
        throw new RangeError(`${name}: read of ${length} bytes at ${offset} is past the end (${bytes.byteLength})`);
      }
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** An in-memory folder: path → bytes. Used by the Worker (files the UI passed) and by tests. */
export function memoryTree(name: string, files: Record<string, Uint8Array>): FileTree {
  return {
    name,
    async open(path) {
      const bytes = files[path];
      return bytes ? bytesSource(`${name}/${path}`, bytes) : null;
    },
  };
}

export async function readAll(src: ByteSource): Promise<Uint8Array> {
  return src.read(0, src.size);
}

export async function readText(src: ByteSource): Promise<string> {
  return new TextDecoder('utf-8', { fatal: false }).decode(await readAll(src));
}

/** Reads and parses a JSON file, naming the file in any error. */
export async function readJson<T = unknown>(src: ByteSource): Promise<T> {
  const text = await readText(src);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new InputError(src.name, `not valid JSON (${(e as Error).message})`);
  }
}
