/** One recorded GPU command. Plans are built once per shape and replayed every step. */
export type Op =
  | {
      readonly kind: 'dispatch';
      readonly label: string;
      readonly pipeline: GPUComputePipeline;
      readonly bindGroup: GPUBindGroup;
      readonly workgroups: readonly [number, number, number];
      /** Bytes of the buffers (or bound ranges) the dispatch binds writable: what it may write. */
      readonly writes?: number;
    }
  | {
      readonly kind: 'copy';
      readonly src: GPUBuffer;
      readonly srcOffset: number;
      readonly dst: GPUBuffer;
      readonly dstOffset: number;
      readonly size: number;
    }
  | { readonly kind: 'clear'; readonly buffer: GPUBuffer; readonly offset: number; readonly size: number };

/** An ordered list of ops; consecutive dispatches share one compute pass. */
export class Program {
  readonly ops: Op[] = [];

  constructor(readonly label = 'program') {}

  get dispatchCount(): number {
    return this.ops.reduce((n, op) => n + (op.kind === 'dispatch' ? 1 : 0), 0);
  }

  /** Bytes bound writable by the dispatches whose label passes `include` (bench metrics). */
  bytesWritten(include: (label: string) => boolean = () => true): number {
    return this.ops.reduce((n, op) => n + (op.kind === 'dispatch' && include(op.label) ? (op.writes ?? 0) : 0), 0);
  }

  add(op: Op): void {
    this.ops.push(op);
  }

  append(other: Program): void {
    this.ops.push(...other.ops);
  }

  encode(encoder: GPUCommandEncoder): void {
    let pass: GPUComputePassEncoder | null = null;
    for (const op of this.ops) {
      if (op.kind === 'dispatch') {
        pass ??= encoder.beginComputePass({ label: this.label });
        pass.setPipeline(op.pipeline);
        pass.setBindGroup(0, op.bindGroup);
        pass.dispatchWorkgroups(op.workgroups[0], op.workgroups[1], op.workgroups[2]);
        continue;
      }
      if (pass) {
        pass.end();
        pass = null;
      }
      if (op.kind === 'copy') encoder.copyBufferToBuffer(op.src, op.srcOffset, op.dst, op.dstOffset, op.size);
      else encoder.clearBuffer(op.buffer, op.offset, op.size);
    }
    pass?.end();
  }
}
