// Attention forward/backward timings, tiled vs per-row kernels (SmolLM2-135M heads by default), and
// the tiled kernels with RoPE as separate passes vs applied inside them:
//   node scripts/bench-attention.mjs [S ...]   (one JSON line per pass and kernel set)
import { build } from 'esbuild';
import { join } from 'node:path';

// Inside the project so that its node_modules resolve (webgpu stays external).
const outfile = join(process.cwd(), 'dist', 'bench-attention.mjs');
await build({
  stdin: {
    contents: `export { benchAttention } from './src/core/bench/attention.ts';
export { acquireNodeGpu } from './src/platform/node-gpu.ts';`,
    resolveDir: process.cwd(), loader: 'ts',
  },
  outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20',
  loader: { '.wgsl': 'text' }, packages: 'external', logLevel: 'warning',
});
const { benchAttention, acquireNodeGpu } = await import(outfile);
const sizes = process.argv.slice(2).map(Number);
const gpu = await acquireNodeGpu();
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
for (const S of sizes.length ? sizes : [256, 1024]) {
  for (const tiled of [false, true]) {
    for (const r of await benchAttention(gpu, S, 9, 3, 64, tiled, 2000, cpuMs)) console.log(JSON.stringify(r));
  }
  for (const rope of ['pass', 'in-kernel']) {
    for (const r of await benchAttention(gpu, S, 9, 3, 64, true, 2000, cpuMs, rope)) console.log(JSON.stringify(r));
  }
}
gpu.destroy();
process.exit(0);
