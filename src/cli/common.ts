import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareModel, Session } from '../core/session.ts';
import { readPeftAdapter } from '../core/model/lora.ts';
import { acquireNodeGpu } from '../platform/node-gpu.ts';
import { nodeFileTree } from '../platform/node-files.ts';
import { UsageError } from './args.ts';
import type { Output } from './output.ts';
import { enableMatmulAutotune } from '../core/kernels/matmul-tune.ts';
import { nodeMatmulCache } from '../platform/node-matmul-cache.ts';
import type { QuantOption } from '../core/model/base-quant.ts';

/** The package root (dist/cli.mjs lives one level below it). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** The offline default model shipped with the app. */
export const demoModelDir = (): string => join(packageRoot(), 'public', 'models', 'demo-base');
export const demoDataDir = (): string => join(packageRoot(), 'public', 'datasets');

export function modelDir(flag: string | undefined): string {
  return resolve(flag ?? demoModelDir());
}

/** Acquires the GPU (saying which adapter, for people) and opens a session. */
export async function openSession(out: Output, o: { fast?: boolean } = {}): Promise<Session> {
  const gpu = await acquireNodeGpu({ fast: o.fast });
  // Software adapters keep the fixed table (measured there) unless TABTUNE_AUTOTUNE=on; off turns tuning off everywhere.
  const tune = process.env.TABTUNE_AUTOTUNE;
  if (tune === 'on' || (!gpu.adapter.software && tune !== 'off')) enableMatmulAutotune(gpu, nodeMatmulCache());
  if (!out.json) process.stderr.write(`tabtune: using ${gpu.adapter.description}${gpu.adapter.software ? ' (software adapter)' : ''}\n`);
  return new Session(gpu);
}

/** Reads and checks the model (and adapter) folders on the CPU, then opens the GPU and loads them. */
export async function openModel(out: Output, dir: string, adapterDir?: string, o: QuantOption = {}): Promise<Session> {
  const prepared = await prepareModel(nodeFileTree(dir));
  const adapter = adapterDir ? await readPeftAdapter(prepared.inspected.cfg, nodeFileTree(adapterDir)) : null;
  const session = await openSession(out);
  try {
    await session.loadModel(prepared, (done, total) => out.progress(`loading ${dir}: ${done}/${total} tensors`), o);
    out.clearProgress();
    if (adapter) await session.loadAdapter(adapter);
    return session;
  } catch (e) {
    session.dispose();
    throw e;
  }
}

export function parseIds(text: string, flag: string): number[] {
  const ids = text.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (ids.length === 0 || ids.some((n) => !Number.isInteger(n) || n < 0)) throw new UsageError(`--${flag} must be comma-separated token ids, got "${text}"`);
  return ids;
}
