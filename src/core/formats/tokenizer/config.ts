import { InputError } from '../../errors.ts';

/**
 * Typed reads from a parsed tokenizer.json with errors that name the file, the JSON path and the
 * problem, e.g. `tokenizer.json: pre_tokenizer.pretokenizers[1]: unknown type "Foo" (supported: ...)`.
 */
export class JsonReader {
  constructor(readonly file: string) {}

  fail(path: string, reason: string): never {
    throw new InputError(this.file, reason, path || undefined);
  }

  object(value: unknown, path: string): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.fail(path, `expected an object, found ${describe(value)}`);
    }
    return value as Record<string, unknown>;
  }

  array(value: unknown, path: string): unknown[] {
    if (!Array.isArray(value)) this.fail(path, `expected an array, found ${describe(value)}`);
    return value;
  }

  string(value: unknown, path: string): string {
    if (typeof value !== 'string') this.fail(path, `expected a string, found ${describe(value)}`);
    return value;
  }

  /** A string, or undefined when the value is null/absent. */
  optString(value: unknown, path: string): string | undefined {
    return value === undefined || value === null ? undefined : this.string(value, path);
  }

  bool(value: unknown, path: string, fallback: boolean): boolean {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') this.fail(path, `expected true or false, found ${describe(value)}`);
    return value;
  }

  int(value: unknown, path: string): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      this.fail(path, `expected a non-negative integer, found ${describe(value)}`);
    }
    return value;
  }

  optInt(value: unknown, path: string, fallback: number): number {
    return value === undefined || value === null ? fallback : this.int(value, path);
  }

  /** The `type` field of a component, checked against the supported list. */
  type(obj: Record<string, unknown>, path: string, what: string, supported: readonly string[]): string {
    const t = obj['type'];
    if (typeof t !== 'string') this.fail(path, `${what} has no "type" (supported: ${supported.join(', ')})`);
    if (!supported.includes(t)) {
      this.fail(path, `unknown ${what} type "${t}" (supported: ${supported.join(', ')})`);
    }
    return t;
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
