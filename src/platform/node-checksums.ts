import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * SHA-256 of every file a folder holds (checkpoints), in `checksums.json`:
 * {"sha256": {"optimizer.safetensors": "<hex>", ...}, "bytes": {...}}. It is written last.
 */
export const CHECKSUMS_FILE = 'checksums.json';

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Streams a file through SHA-256 (a full model's checkpoint never sits in memory twice). */
export function sha256OfFile(path: string): string {
  const hash = createHash('sha256');
  const buf = new Uint8Array(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

export function checksumsJson(files: Record<string, Uint8Array>): string {
  const entries = Object.entries(files);
  const sums = { sha256: Object.fromEntries(entries.map(([n, b]) => [n, sha256(b)])), bytes: Object.fromEntries(entries.map(([n, b]) => [n, b.length])) };
  return `${JSON.stringify(sums, null, 1)}\n`;
}

/** Why a folder's files do not match its checksums.json, or null when every file verifies. */
export function checksumProblem(dir: string): string | null {
  const file = join(dir, CHECKSUMS_FILE);
  if (!existsSync(file)) return `no ${CHECKSUMS_FILE} (incomplete, or written without checksums)`;
  let sums: { sha256?: Record<string, string>; bytes?: Record<string, number> };
  try {
    sums = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return `${CHECKSUMS_FILE} is not readable (${(e as Error).message})`;
  }
  if (!sums.sha256 || typeof sums.sha256 !== 'object' || !Object.keys(sums.sha256).length) return `${CHECKSUMS_FILE} lists no files`;
  for (const [name, want] of Object.entries(sums.sha256)) {
    const path = join(dir, name);
    if (!existsSync(path)) return `${name} is missing`;
    const size = statSync(path).size;
    if (sums.bytes?.[name] !== undefined && sums.bytes[name] !== size) return `${name} has ${size} bytes, ${sums.bytes[name]} were written`;
    if (sha256OfFile(path) !== want) return `${name} does not match its SHA-256 (the file changed or is damaged)`;
  }
  return null;
}
