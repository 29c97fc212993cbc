/**
 * Duplicate-key detection for JSON text. `JSON.parse` keeps the last of two equal keys without a
 * word, while the reference safetensors reader (serde) refuses such headers, so the header text is
 * scanned separately.
 */

export interface DuplicateKey {
  /** The repeated key (decoded). */
  key: string;
  /** Keys of the enclosing objects, outermost first (empty for the top level). */
  path: string[];
}

/**
 * Returns the first key that occurs twice in one object, or null. `text` must already be valid JSON
 * (parse it first); keys are compared after decoding escapes, so `"a"` and `"\u0061"` are equal.
 */
export function findDuplicateKey(text: string): DuplicateKey | null {
  // One frame per open container; arrays have keys === null.
  const stack: { keys: Set<string> | null; name: string | null; last: string | null }[] = [];
  let expectKey = false;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      i++;
      if (expectKey) {
        const frame = stack[stack.length - 1]!;
        const key = JSON.parse(text.slice(start, i)) as string;
        if (frame.keys!.has(key)) {
          const path = stack.slice(1).map((f) => f.name ?? '');
          return { key, path };
        }
        frame.keys!.add(key);
        frame.last = key;
        expectKey = false;
      }
      continue;
    }
    if (c === 0x7b /* { */) {
      const parent = stack[stack.length - 1];
      stack.push({ keys: new Set(), name: parent?.keys ? parent.last : null, last: null });
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      const parent = stack[stack.length - 1];
      stack.push({ keys: null, name: parent?.keys ? parent.last : null, last: null });
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1]?.keys != null;
    }
    i++;
  }
  return null;
}
