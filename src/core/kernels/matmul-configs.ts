import blockedCode from '../../../shaders/matmul_blocked.wgsl';
import type { KernelSpec } from '../gpu/pipelines.ts';

/** A register-blocked tile configuration of matmul_blocked.wgsl. */
export interface BlockedTile {
  /** Workgroup tile of C (rows x columns) and the K-slice staged per barrier. */
  readonly bm: number;
  readonly bn: number;
  readonly bk: number;
  /** Outputs per invocation (rows x columns), kept in registers. */
  readonly tm: number;
  readonly tn: number;
}

/**
 * The matmul kernels the dispatcher and the autotuner choose among: `reg4` (4x4 per invocation,
 * no workgroup memory: best on CPU drivers), `tile64` (64x64 workgroup tile, 4x4 per invocation),
 * and register-blocked tiles up to 128x128 with 8x8 per invocation (28.7 TFLOP/s measured for a
 * plain kernel of that shape on an H200, gpu-device.md).
 */
export const BLOCKED: Readonly<Record<string, BlockedTile>> = {
  b128x128: { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 },
  b128x64: { bm: 128, bn: 64, bk: 8, tm: 8, tn: 4 },
  b64x64: { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 },
  b32x32: { bm: 32, bn: 32, bk: 8, tm: 4, tn: 4 },
};

/** Workgroup memory of matmul_tiled.wgsl: two 16x65 f32 tiles. */
export const TILE64_SHARED_BYTES = 2 * 16 * 65 * 4;

export const MATMUL_KERNELS = ['reg4', 'tile64', ...Object.keys(BLOCKED)] as const;
export type MatmulKernel = (typeof MATMUL_KERNELS)[number];

export function isMatmulKernel(name: string): name is MatmulKernel {
  return (MATMUL_KERNELS as readonly string[]).includes(name);
}

/** Workgroup memory a blocked tile needs (As and Bs), to skip configs the adapter cannot hold. */
export function blockedSharedBytes(t: BlockedTile): number {
  return 4 * t.bk * (t.bm + t.bn);
}

const specs = new Map<string, KernelSpec>();

/** The kernel spec of one blocked tile: the shader with its tile constants written in. */
export function blockedSpec(name: string): KernelSpec {
  let spec = specs.get(name);
  if (!spec) {
    const t = BLOCKED[name];
    if (!t) throw new Error(`unknown matmul tile "${name}"`);
    let code = blockedCode;
    for (const [k, v] of [['BM', t.bm], ['BN', t.bn], ['BK', t.bk], ['TM', t.tm], ['TN', t.tn]] as const) {
      code = code.replace(new RegExp(`^const ${k} = \\d+u;$`, 'm'), `const ${k} = ${v}u;`);
    }
    spec = { name: `matmul_${name}`, code, entry: 'main', bindings: ['uniform', 'read', 'read', 'rw', 'read'] };
    specs.set(name, spec);
  }
  return spec;
}
