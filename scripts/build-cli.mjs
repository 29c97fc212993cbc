// Bundles the Node CLI into dist/cli.mjs; WGSL files become strings as in the Vite build.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/cli.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  loader: { '.wgsl': 'text' },
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
