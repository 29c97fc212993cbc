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
      // HTML pages are written after this hook: the app shell is './', the exported chat page's is chat.html.
      const files = ['./', './chat.html', ...[...new Set([...built, ...fromPublic])].sort().map((f) => `./${f}`)];
      this.emitFile({ type: 'asset', fileName: 'precache.json', source: JSON.stringify({ build: BUILD, files }, null, 1) });
    },
  };
}

/**
 * Writes `chat-page.json`: the built files the exported chat page needs (chat.html and every
 * asset it reaches: scripts, styles, its Worker), found by following file names through the
 * built text. The app's Export view zips them with a run's merged model.
 */
function chatPageManifest(): Plugin {
  return {
    name: 'tabtune-chat-page',
    apply: 'build',
    generateBundle(_options, bundle) {
      const text = (f: string) => {
        const out = bundle[f];
        if (!out) return '';
        return out.type === 'chunk' ? out.code : typeof out.source === 'string' ? out.source : '';
      };
      const names = Object.keys(bundle).filter((f) => !f.endsWith('.map'));
      // The HTML is written after this hook: start from its entry script and that script's styles.
      const entry = Object.values(bundle).find((o) => o.type === 'chunk' && o.isEntry && o.facadeModuleId?.endsWith('/chat.html'));
      if (!entry || entry.type !== 'chunk') throw new Error('chat.html has no entry script in the build');
      const files = new Set(['chat.html', entry.fileName, ...(entry.viteMetadata?.importedCss ?? [])]);
      for (const f of files) {
        const t = text(f);
        for (const other of names) if (!files.has(other) && t.includes(other.split('/').pop()!)) files.add(other);
      }
      this.emitFile({ type: 'asset', fileName: 'chat-page.json', source: JSON.stringify({ files: [...files].sort() }, null, 1) });
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
  plugins: [wgsl(), svelte(), chatPageManifest(), precacheManifest(), devCsp()],
  define: { __TABTUNE_BUILD__: JSON.stringify(BUILD) },
  worker: { format: 'es', plugins: () => [wgsl()] },
  // Scripts name the files they load relative to themselves, so the exported chat page runs from any folder.
  experimental: { renderBuiltUrl: (_file, { hostType }) => (hostType === 'js' ? { relative: true } : undefined) },
  build: {
    target: 'es2022',
    outDir: 'dist/app',
    rollupOptions: { input: { main: 'index.html', selftest: 'selftest.html', chat: 'chat.html' } },
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
