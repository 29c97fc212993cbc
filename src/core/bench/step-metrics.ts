import type { Program } from '../gpu/program.ts';

export interface StepMetrics {
  readonly dispatches: number;
  /** Bytes bound writable by every non-matmul dispatch (an upper bound on what they write). */
  readonly nonmatmulBytes: number;
}

/** Matmul families (f32, q8, and any later variant) are named matmul*. */
export const isMatmul = (label: string): boolean => label.startsWith('matmul');

/** Counts what one training step records: dispatches, and bytes written outside matmuls. */
export function stepMetrics(programs: readonly Program[]): StepMetrics {
  return {
    dispatches: programs.reduce((n, p) => n + p.dispatchCount, 0),
    nonmatmulBytes: programs.reduce((n, p) => n + p.bytesWritten((l) => !isMatmul(l)), 0),
  };
}
