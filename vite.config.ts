import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

/** Imports `shaders/*.wgsl` as source text, the same way the CLI bundle does. */
function wgsl(): Plugin {
  return {
    name: 'tabtune-wgsl',
    transform(code, id) {
      if (id.endsWith('.wgsl')) return { code: `export default ${JSON.stringify(code)};`, map: null };
    },
  };
}

/** Identifies a build: the service worker's cache is named after it (main.ts registers sw.js?v=BUILD). */
const BUILD = Date.now().toString(36);

/**
 * Writes `precache.json` next to the app: every built file plus the offline demo model and
 * datasets from public/, which public/sw.js caches at install so the app works offline.
 */
function precacheManifest(): Plugin {
  const publicFiles = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? publicFiles(path) : [relative('public', path).split('\\').join('/')];
    });
  return {
    name: 'tabtune-precache',
    apply: 'build',
    generateBundle(_options, bundle) {
      const built = Object.keys(bundle).filter((f) => !f.endsWith('.map'));
      const fromPublic = publicFiles('public').filter((f) => f !== 'sw.js' && !f.endsWith('pretrain.json'));
      const files = ['./', ...[...new Set([...built, ...fromPublic])].sort().map((f) => `./${f}`)];
      this.emitFile({ type: 'asset', fileName: 'precache.json', source: JSON.stringify({ build: BUILD, files }, null, 1) });
    },
  };
}

/**
 * The dev server injects styles as <style> elements and talks to the page over a WebSocket (hot
 * reload): its copy of index.html allows both. The built app keeps the strict policy.
 */
function devCsp(): Plugin {
  return {
    name: 'tabtune-dev-csp',
    apply: 'serve',
    transformIndexHtml: (html) => html.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'").replace("connect-src 'self'", "connect-src 'self' ws: wss:"),
  };
}

export default defineConfig({
  plugins: [wgsl(), svelte(), precacheManifest(), devCsp()],
  define: { __TABTUNE_BUILD__: JSON.stringify(BUILD) },
  worker: { format: 'es', plugins: () => [wgsl()] },
  build: {
    target: 'es2022',
    outDir: 'dist/app',
    rollupOptions: { input: { main: 'index.html', selftest: 'selftest.html' } },
  },
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The browser tests run against an app built once per test run, never a stale dist/app.
    projects: [
      { extends: true, test: { name: 'unit', include: ['tests/**/*.test.ts'], exclude: ['tests/e2e/**'] } },
      { extends: true, test: { name: 'e2e', include: ['tests/e2e/**/*.test.ts'], globalSetup: ['tests/e2e/build-app.ts'] } },
    ],
  },
});
