/** Lines stay readable: no line of 160 or more characters in src/ (.ts, .svelte, .css, .html). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../src');
const LIMIT = 160;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.(ts|svelte|css|html)$/.test(name) ? [p] : [];
  });
}

/** `file:line (length)` of each line of LIMIT or more characters (code points, as an editor counts them). */
function longLines(): string[] {
  return sourceFiles(ROOT).flatMap((file) => {
    const rel = relative(ROOT, file).split('\\').join('/');
    return readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((l, i) => ([...l].length >= LIMIT ? [`${rel}:${i + 1} (${[...l].length})`] : []));
  });
}

describe('line length', () => {
  it(`no line of ${LIMIT}+ characters in src/`, () => {
    expect(longLines()).toEqual([]);
  });

  it('sees the source tree', () => {
    expect(sourceFiles(ROOT).length).toBeGreaterThan(100);
  });
});
