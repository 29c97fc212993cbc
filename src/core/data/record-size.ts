/**
 * The size limit of one record. A record is one line, row or item of a file; past this size it
 * is left out with its size named, so one huge record cannot take the whole process's memory in
 * later steps (tokenizing, shingling, personal-data scans each hold several copies of its text).
 */

/** Characters (UTF-16 units) one record may hold: far beyond any training context. */
export const MAX_RECORD_CHARS = 1_000_000;

/**
 * Characters in the strings of a parsed value (keys included), counted until `max` is passed:
 * the count stops early, so a huge value costs no more than the limit to measure.
 */
export function textSize(value: unknown, max: number): number {
  let n = 0;
  const stack: unknown[] = [value];
  while (stack.length && n <= max) {
    const v = stack.pop();
    if (typeof v === 'string') n += v.length;
    else if (Array.isArray(v)) stack.push(...v);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        n += k.length;
        stack.push(x);
      }
    }
  }
  return n;
}

/** The reason a record is left out; `size` says how large it is, e.g. "1,200,000 characters". */
export function oversizeReason(size: string, max: number): string {
  return `is too large for one record: ${size} (the limit is ${max.toLocaleString('en-US')} characters; split it into smaller records)`;
}

/** A count for people: 1,200,000. */
export const count = (n: number): string => n.toLocaleString('en-US');
