/**
 * A stable content hash of a dataset for run manifests: SHA-256 over one canonical JSON line per
 * record (keys sorted), in order. Only what training sees counts (each record's kind and
 * content, in order); file names, lines and extra fields do not.
 */
import type { DataRecord, DatasetRecord } from './records.ts';
import { sha256Hex } from './sha256.ts';

/** JSON with object keys sorted, so equal values serialise equally. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/** Hex SHA-256 of the records' content. */
export function datasetHash(records: readonly (DatasetRecord | DataRecord)[]): Promise<string> {
  const lines = records.map((r) => canonicalJson('record' in r ? r.record : r) + '\n');
  return sha256Hex(new TextEncoder().encode(lines.join('')));
}
