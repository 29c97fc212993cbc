import type { Gpu } from '../gpu/gpu.ts';
import { Program } from '../gpu/program.ts';

export interface KernelTime {
  readonly label: string;
  readonly count: number;
  readonly ms: number;
}

/**
 * Time per kernel family of a program, by running each op alone and waiting for it (so the
 * numbers include no overlap; their sum exceeds the program's own time a little).
 */
export async function profileProgram(gpu: Gpu, program: Program): Promise<KernelTime[]> {
  const totals = new Map<string, { count: number; ms: number }>();
  for (const op of program.ops) {
    const one = new Program('profile');
    one.add(op);
    const t0 = performance.now();
    gpu.run(one);
    await gpu.sync();
    const ms = performance.now() - t0;
    const label = op.kind === 'dispatch' ? op.label : op.kind;
    const t = totals.get(label) ?? { count: 0, ms: 0 };
    totals.set(label, { count: t.count + 1, ms: t.ms + ms });
  }
  return [...totals].map(([label, t]) => ({ label, ...t })).sort((a, b) => b.ms - a.ms);
}
