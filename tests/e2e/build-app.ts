/**
 * Vitest global setup of the browser tests: builds the app into dist/app once per test run, so
 * the tests never drive a stale build. The build is a few seconds; its output is printed on failure.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export default function setup(): void {
  try {
    // Vitest sets NODE_ENV=test, which would build a non-production app (no service worker).
    const env = { ...process.env, NODE_ENV: 'production' };
    execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'pipe', env });
  } catch (e) {
    const out = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`vite build failed before the browser tests:\n${out.stdout?.toString() ?? ''}${out.stderr?.toString() ?? ''}`);
  }
}
