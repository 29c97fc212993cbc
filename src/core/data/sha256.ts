/**
 * SHA-256 from the platform's WebCrypto (`globalThis.crypto.subtle`, present in browsers and in
 * Node 20), so the core stays platform-free and carries no hand-written hash.
 */
export async function sha256Hex(data: Uint8Array | readonly Uint8Array[]): Promise<string> {
  const parts = data instanceof Uint8Array ? [data] : data;
  let bytes: Uint8Array;
  if (parts.length === 1) {
    bytes = parts[0]!;
  } else {
    bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
  }
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
