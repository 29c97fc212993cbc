// Bundles the Node CLI into dist/cli.mjs; WGSL files become strings as in the Vite build.
// Each output is written under a temporary name and renamed, so a CLI started meanwhile (another
// test file's) never reads a half-written bundle.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { build } from 'esbuild';

const { outputFiles } = await build({
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
  write: false,
});
for (const file of outputFiles) {
  mkdirSync(dirname(file.path), { recursive: true });
  const temp = `${file.path}.${process.pid}.tmp`;
  writeFileSync(temp, file.contents);
  renameSync(temp, file.path);
}
