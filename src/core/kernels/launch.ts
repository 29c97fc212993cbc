import type { Gpu } from '../gpu/gpu.ts';
import { packParams, type ParamField } from '../gpu/params.ts';
import type { Program } from '../gpu/program.ts';
import type { KernelSpec } from '../gpu/pipelines.ts';

/** Workgroup size of every 1-D kernel (shaders fold the grid as gid.x + gid.y·nwg.x·256). */
export const WG = 256;

/** Records a 1-D dispatch over `count` invocations with `fields` as the uniform params. */
export async function launch1d(
  gpu: Gpu,
  program: Program,
  spec: KernelSpec,
  fields: readonly ParamField[],
  buffers: readonly GPUBuffer[],
  count: number,
): Promise<void> {
  if (count <= 0) return;
  await gpu.record(program, spec, [gpu.uniforms.alloc(packParams(fields)), ...buffers], gpu.grid(Math.ceil(count / WG)));
}

/** Records one workgroup per row (row reductions: norms, softmax statistics). */
export async function launchRows(
  gpu: Gpu,
  program: Program,
  spec: KernelSpec,
  fields: readonly ParamField[],
  buffers: readonly GPUBuffer[],
  rows: number,
): Promise<void> {
  if (rows <= 0) return;
  await gpu.record(program, spec, [gpu.uniforms.alloc(packParams(fields)), ...buffers], gpu.grid(rows));
}
