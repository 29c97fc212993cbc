/**
 * The layering rules of the design map (design.md, README "Layers"), checked over the real
 * import statements of every source file under src/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../src');

/**
 * Layers from the bottom up: a file may import its own layer or lower ones. The first matching
 * prefix (longest first) names a file's layer.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['core/errors.ts', 'core/rng.ts', 'shaders.d.ts'],
  ['core/formats', 'core/gpu'],
  ['core/kernels'],
  ['core/data', 'core/model', 'core/selftest'],
  ['core/session.ts'],
  ['core/eval', 'core/train', 'core/deploy', 'core/serve'],
  ['core/pipeline', 'core/bench'],
  ['core/workspace'],
  ['platform'],
  ['app', 'cli', 'worker'],
];

/** Pairs that the order above allows but the design forbids (same or lower floor, other concern). */
const FORBIDDEN: readonly [from: string, to: string][] = [
  ['core/data', 'core/model'],
  ['core/model', 'core/data'],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.(ts|svelte)$/.test(name) ? [p] : [];
  });
}

/** Module specifiers of static imports, re-exports and dynamic imports (type-only ones too). */
function importsOf(text: string): string[] {
  const found: string[] = [];
  const patterns = [/\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /^\s*import\s*['"]([^'"]+)['"]/gm];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1]!);
  return found;
}

const rel = (abs: string) => relative(ROOT, abs).split('\\').join('/');

/** file (relative to src/) → relative src/ paths it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(ROOT)) {
    const deps = importsOf(readFileSync(file, 'utf8'))
      .filter((s) => s.startsWith('.'))
      .map((s) => rel(resolve(dirname(file), s.replace(/\?.*$/, ''))))
      .filter((p) => !p.startsWith('..'));
    graph.set(rel(file), deps);
  }
  return graph;
}

function layerOf(path: string): number {
  let best = -1;
  let bestLen = -1;
  LAYERS.forEach((prefixes, i) => {
    for (const p of prefixes) {
      if ((path === p || path.startsWith(`${p}/`)) && p.length > bestLen) {
        best = i;
        bestLen = p.length;
      }
    }
  });
  return best;
}

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

/** Every cycle's files, found with Tarjan's strongly connected components. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('import layers', () => {
  const graph = importGraph();

  it('sees the whole source tree', () => {
    expect(graph.size).toBeGreaterThan(100);
    for (const needed of ['core/session.ts', 'core/train/trainer.ts', 'cli/main.ts', 'app/App.svelte']) expect(graph.has(needed)).toBe(true);
  });

  it('resolves every relative import to a file', () => {
    const missing = [...graph].flatMap(([f, deps]) => deps.filter((d) => !graph.has(d) && !/\.(css|wgsl|json)$/.test(d)).map((d) => `${f} → ${d}`));
    expect(missing).toEqual([]);
  });

  it('places every file on a layer', () => {
    expect([...graph.keys()].filter((f) => layerOf(f) < 0)).toEqual([]);
  });

  it('has no import cycles', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('imports only downward (app/cli/worker → platform → workspace → pipeline → eval/train → session → data/model → kernels → formats/gpu → errors)', () => {
    const up = [...graph].flatMap(([f, deps]) => deps.filter((d) => graph.has(d) && layerOf(d) > layerOf(f)).map((d) => `${f} → ${d}`));
    expect(up).toEqual([]);
  });

  it('keeps core platform-free and each concern in its lane', () => {
    const bad = [...graph].flatMap(([f, deps]) =>
      deps
        .filter((d) => {
          if (under(f, 'core') && ['app', 'cli', 'worker', 'platform'].some((p) => under(d, p))) return true;
          if (under(f, 'core') && !under(f, 'core/workspace') && under(d, 'core/workspace')) return true;
          if (under(f, 'core/formats') && ['core/model', 'core/train', 'core/data', 'core/eval'].some((p) => under(d, p))) return true;
          if (under(f, 'core/data') && ['core/train', 'core/eval'].some((p) => under(d, p))) return true;
          return FORBIDDEN.some(([from, to]) => under(f, from) && under(d, to));
        })
        .map((d) => `${f} → ${d}`),
    );
    expect(bad).toEqual([]);
  });

  it('keeps Node and the DOM out of the core', () => {
    const bad = sourceFiles(join(ROOT, 'core')).filter((f) => importsOf(readFileSync(f, 'utf8')).some((s) => s.startsWith('node:') || s === 'idb-keyval'));
    expect(bad.map(rel)).toEqual([]);
  });
});

describe('the import checker itself', () => {
  it('finds a two-file loop and a self-loop', () => {
    const g = new Map([['a.ts', ['b.ts']], ['b.ts', ['a.ts']], ['c.ts', ['c.ts']], ['d.ts', ['a.ts']]]);
    expect(cycles(g)).toEqual([['a.ts', 'b.ts'], ['c.ts']]);
  });

  it('reads static, type-only, re-export and dynamic imports', () => {
    const text = "import { a } from './a.ts';\nimport type { B } from \"./b.ts\";\nexport * from './c.ts';\nconst d = await import('./d.ts');\nimport './e.css';";
    expect(importsOf(text).sort()).toEqual(['./a.ts', './b.ts', './c.ts', './d.ts', './e.css']);
  });

  it('orders the layers as the design says', () => {
    expect(layerOf('core/formats/peft.ts')).toBeLessThan(layerOf('core/model/lora.ts'));
    expect(layerOf('core/data/rows.ts')).toBeLessThan(layerOf('core/train/trainer.ts'));
    expect(layerOf('core/train/trainer.ts')).toBeLessThan(layerOf('core/workspace/workbench.ts'));
    expect(layerOf('core/workspace/workbench.ts')).toBeLessThan(layerOf('platform/node-files.ts'));
    expect(layerOf('platform/node-files.ts')).toBeLessThan(layerOf('cli/main.ts'));
  });
});
