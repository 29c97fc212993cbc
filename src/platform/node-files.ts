import { open as openFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ByteSource, FileTree } from '../core/formats/bytes.ts';

/** A ByteSource over a file on disk; each read opens the file, so nothing leaks on errors. */
export async function nodeFileSource(path: string): Promise<ByteSource> {
  const { size } = await stat(path);
  return {
    name: path,
    size,
    async read(offset, length) {
      if (offset < 0 || offset + length > size) {
        throw new RangeError(`${path}: read of ${length} bytes at ${offset} is past the end (${size})`);
      }
      const fh = await openFile(path, 'r');
      try {
        const buf = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
          if (bytesRead === 0) throw new RangeError(`${path}: file ended early at ${offset + done}`);
          done += bytesRead;
        }
        return buf;
      } finally {
        await fh.close();
      }
    },
  };
}

export function nodeFileTree(dir: string): FileTree {
  return {
    name: dir,
    async open(path) {
      try {
        return await nodeFileSource(join(dir, path));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
  };
}
