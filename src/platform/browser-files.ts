import type { ByteSource, FileTree } from '../core/formats/bytes.ts';

/** A ByteSource over a Blob/File: reads slices, so a large checkpoint is never loaded whole. */
export function blobSource(name: string, blob: Blob): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      if (offset < 0 || offset + length > blob.size) throw new RangeError(`${name}: read of ${length} bytes at ${offset} is past the end (${blob.size})`);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

/**
 * A folder the user picked or dropped: paths are relative to it (a common leading folder, as
 * webkitRelativePath gives, is removed).
 */
export function localTree(name: string, files: readonly { path: string; file: Blob }[]): FileTree {
  const parts = files.map((f) => f.path.split('/').filter(Boolean));
  const top = parts.length && parts.every((p) => p.length > 1 && p[0] === parts[0]![0]) ? 1 : 0;
  const byPath = new Map(files.map((f, i) => [parts[i]!.slice(top).join('/'), f.file]));
  return {
    name,
    async open(path) {
      const blob = byPath.get(path);
      return blob ? blobSource(`${name}/${path}`, blob) : null;
    },
  };
}

/** A folder of the app's own files (the demo model), fetched once; missing optional files are absent. */
export async function fetchTree(
  name: string, baseUrl: string, required: readonly string[], optional: readonly string[],
  onProgress?: (file: string, done: number, total: number) => void,
): Promise<FileTree> {
  const files = new Map<string, Blob>();
  const all = [...required, ...optional];
  for (const [i, path] of all.entries()) {
    const res = await fetch(new URL(path, baseUrl));
    if (!res.ok) {
      if (required.includes(path)) throw new Error(`${new URL(path, baseUrl)}: HTTP ${res.status}`);
      continue;
    }
    files.set(path, await res.blob());
    onProgress?.(path, i + 1, all.length);
  }
  return {
    name,
    async open(path) {
      const blob = files.get(path);
      return blob ? blobSource(`${name}/${path}`, blob) : null;
    },
  };
}
