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

export default defineConfig({
  plugins: [wgsl(), svelte()],
  worker: { format: 'es', plugins: () => [wgsl()] },
  build: {
    target: 'es2022',
    outDir: 'dist/app',
    rollupOptions: { input: { main: 'index.html', selftest: 'selftest.html' } },
  },
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
