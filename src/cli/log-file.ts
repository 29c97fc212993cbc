import { readFileSync } from 'node:fs';
import { InputError } from '../core/errors.ts';
import type { LogRecord } from '../core/serve/monitor.ts';

const TYPES = new Set(['request', 'alert', 'feedback']);

/** Reads a `tabtune serve` JSONL log; a line that is not a record names its line number. */
export function readServeLog(path: string): LogRecord[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: LogRecord[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new InputError(path, 'not valid JSON', `line ${i + 1}`);
    }
    const type = (v as Record<string, unknown> | null)?.['type'];
    if (typeof type !== 'string' || !TYPES.has(type)) {
      throw new InputError(path, 'not a tabtune serve log record (type request, alert or feedback)', `line ${i + 1}`);
    }
    out.push(v as LogRecord);
  });
  return out;
}
