/**
 * Small non-cryptographic 32-bit hashes for de-duplication. They only need to spread values
 * evenly and be the same on every platform and run (no Math.random, no per-process salt).
 */

/** An avalanche mix (the murmur3 finaliser's structure): each input bit flips about half the output bits. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Folds one more 32-bit value into a running hash. */
export function combine32(h: number, v: number): number {
  let k = Math.imul(v >>> 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  const x = (h ^ k) >>> 0;
  return (Math.imul((x << 13) | (x >>> 19), 5) + 0xe6546b64) >>> 0;
}

/** Hash of `values[start..end)` (code points, word hashes, token ids). */
export function hashRange(values: ArrayLike<number>, start: number, end: number, seed = 0): number {
  let h = seed >>> 0;
  for (let i = start; i < end; i++) h = combine32(h, values[i]!);
  return mix32(h ^ (end - start));
}

export function hashString(text: string, seed = 0): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) h = combine32(h, text.charCodeAt(i));
  return mix32(h ^ text.length);
}

/** 64 bits as 16 hex digits (two independently seeded halves): a map key with negligible collisions. */
export function hash64(text: string): string {
  return hashString(text, 0x9747b28c).toString(16).padStart(8, '0') + hashString(text, 0x2f1c3b5d).toString(16).padStart(8, '0');
}
