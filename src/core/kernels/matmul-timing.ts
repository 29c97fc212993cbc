import { BufferUsage, MapMode } from '../gpu/constants.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Program } from '../gpu/program.ts';
import { allocTensor, type Tensor } from '../gpu/tensor.ts';
import type { ShapeClass } from './matmul-tune.ts';

export type RecordProduct = (program: Program, a: Tensor, b: Tensor, c: Tensor) => Promise<void>;

/** Repetitions timed per candidate: enough to smooth a few microseconds of launch noise, still short. */
const REPS = 4;

/** Milliseconds per run of a class's representative product, recorded by `record` (one warm-up first). */
export async function timeProduct(gpu: Gpu, c: ShapeClass, record: RecordProduct): Promise<number> {
  const a = allocTensor(gpu, [c.M * c.K], 'scratch', 'tune-a');
  const b = allocTensor(gpu, [c.K * c.N], 'scratch', 'tune-b');
  const out = allocTensor(gpu, [c.M * c.N], 'scratch', 'tune-c');
  try {
    const program = new Program('matmul-tune');
    await record(program, a, b, out);
    gpu.run(program);
    await gpu.sync();
    return gpu.features.has('timestamp-query') ? await timestamped(gpu, program) : await wallClock(gpu, program);
  } finally {
    for (const t of [a, b, out]) gpu.destroyBuffer(t.buffer);
  }
}

async function wallClock(gpu: Gpu, program: Program): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < REPS; i++) gpu.run(program);
  await gpu.sync();
  return (performance.now() - t0) / REPS;
}

/** GPU time of REPS runs in one compute pass, from timestamps at its start and end. */
async function timestamped(gpu: Gpu, program: Program): Promise<number> {
  const { device } = gpu;
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
  const resolved = device.createBuffer({ size: 16, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
  const staging = device.createBuffer({ size: 16, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
    for (let i = 0; i < REPS; i++) {
      for (const op of program.ops) {
        if (op.kind !== 'dispatch') continue;
        pass.setPipeline(op.pipeline);
        pass.setBindGroup(0, op.bindGroup);
        pass.dispatchWorkgroups(...op.workgroups);
      }
    }
    pass.end();
    encoder.resolveQuerySet(querySet, 0, 2, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, staging, 0, 16);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MapMode.READ);
    const [t0, t1] = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    gpu.checkErrors();
    const ns = Number(t1! - t0!);
    // Some implementations quantise or zero timestamps; fall back to the wall clock then.
    return ns > 0 ? ns / 1e6 / REPS : await wallClock(gpu, program);
  } finally {
    querySet.destroy();
    resolved.destroy();
    staging.destroy();
  }
}
