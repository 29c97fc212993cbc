import code from '../../../shaders/dora.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { launch1d, launchRows } from './launch.ts';

const NORMS: KernelSpec = { name: 'dora', code, entry: 'norms', bindings: ['uniform', 'read', 'rw', 'rw'] };
const COMBINE: KernelSpec = { name: 'dora', code, entry: 'combine', bindings: ['uniform', 'rw', 'read', 'read', 'read'] };
const SPLIT: KernelSpec = { name: 'dora', code, entry: 'split', bindings: ['uniform', 'read', 'rw', 'rw', 'read'] };
const MAGNITUDE_GRAD: KernelSpec = { name: 'dora', code, entry: 'magnitude_grad', bindings: ['uniform', 'read', 'read', 'read', 'read', 'rw'] };
const SCALE_ROWS: KernelSpec = { name: 'dora', code, entry: 'scale_rows', bindings: ['uniform', 'rw', 'read'] };

type Fields = [number, number, number, number, number, number, number, number];
const u32s = (f: Fields) => f.map((v) => [v, 'u32'] as const);

/**
 * n[j] = ‖W'[j, :]‖ and mns[j] = m[j] / n[j] for W' [out, in]; a NaN m[j] is first set to n[j]
 * (PEFT initialises the magnitude at the first forward pass).
 */
export function doraNorms(gpu: Gpu, p: Program, out: number, inF: number, wPrime: Tensor, m: Tensor, n: Tensor, mns: Tensor): Promise<void> {
  if (n.buffer !== mns.buffer) throw new Error('dora: n and mns share one state buffer');
  return launchRows(gpu, p, NORMS, u32s([out, inF, wPrime.offset, m.offset, n.offset, mns.offset, 0, 0]), [wPrime.buffer, m.buffer, n.buffer], out);
}

/** y[t, j] (row stride ld) += (mns[j] − 1)·base[t, j] + mns[j]·lora[t, j]; base and lora dense [T, out]. */
export function doraCombine(gpu: Gpu, p: Program, T: number, out: number, y: Tensor, ld: number, base: Tensor, lora: Tensor, mns: Tensor): Promise<void> {
  const fields = u32s([T, out, y.offset, base.offset, lora.offset, mns.offset, 0, ld]);
  return launch1d(gpu, p, COMBINE, fields, [y.buffer, base.buffer, lora.buffer, mns.buffer], T * out);
}

/** dz = dy·mns and dbase = dy·(mns − 1), dense [T, out], from dy (row stride ld). */
export function doraSplit(gpu: Gpu, p: Program, T: number, out: number, dy: Tensor, ld: number, dz: Tensor, dbase: Tensor, mns: Tensor): Promise<void> {
  const fields = u32s([T, out, dy.offset, dz.offset, dbase.offset, mns.offset, 0, ld]);
  return launch1d(gpu, p, SPLIT, fields, [dy.buffer, dz.buffer, dbase.buffer, mns.buffer], T * out);
}

/** dm[j] += Σ_t dy[t, j]·(base + lora)[t, j] / n[j]: the magnitude's gradient with n detached. */
export function doraMagnitudeGrad(
  gpu: Gpu, p: Program, T: number, out: number, dy: Tensor, ld: number, base: Tensor, lora: Tensor, n: Tensor, dm: Tensor,
): Promise<void> {
  return launchRows(
    gpu, p, MAGNITUDE_GRAD, u32s([T, out, dy.offset, base.offset, lora.offset, n.offset, dm.offset, ld]),
    [dy.buffer, base.buffer, lora.buffer, n.buffer, dm.buffer], out,
  );
}

/** W[j, :] *= mns[j] for W [out, in] (merging DoRA into the base). */
export function doraScaleRows(gpu: Gpu, p: Program, out: number, inF: number, w: Tensor, mns: Tensor): Promise<void> {
  return launch1d(gpu, p, SCALE_ROWS, u32s([out, inF, w.offset, 0, 0, mns.offset, 0, 0]), [w.buffer, mns.buffer], out * inF);
}
