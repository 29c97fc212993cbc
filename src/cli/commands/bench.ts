import { benchMatmul, matmulShapes } from '../../core/bench/matmul.ts';
import type { CommandSpec, Parsed } from '../args.ts';
import { openSession } from '../common.ts';
import type { Output } from '../output.ts';

export const spec: CommandSpec = {
  name: 'bench',
  summary: 'measure kernels and training speed; prints one JSON line per measurement',
  usage: 'tabtune bench [--only matmul|train|generate] [--big] [--fast]',
  flags: [
    { name: 'only', kind: 'string', value: 'WHAT', help: 'run one group: matmul, train or generate' },
    { name: 'big', kind: 'boolean', help: 'add the large shapes (for real GPUs)' },
    { name: 'fast', kind: 'boolean', help: 'Dawn toggles that skip validation (as onnxruntime runs); benchmarks only' },
  ],
  examples: ['npm run bench', 'tabtune bench --only matmul --big'],
};

export async function run(p: Parsed, out: Output): Promise<void> {
  const session = await openSession(out, { fast: p.fast === true });
  const emit = (line: object) => {
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  try {
    const gpu = session.gpu;
    emit({ bench: 'adapter', adapter: gpu.adapter.description, software: gpu.adapter.software, features: [...gpu.features], maxStorageBufferBindingSize: gpu.limits.maxStorageBufferBindingSize });
    if (!p.only || p.only === 'matmul') {
      for (const [label, M, N, K, ta, tb] of matmulShapes(p.big === true)) {
        const r = await benchMatmul(gpu, label, M, N, K, ta, tb);
        emit(r);
        if (!out.json) process.stderr.write(`matmul ${label.padEnd(28)} ${r.gflops.toFixed(2).padStart(8)} GFLOP/s\n`);
      }
    }
  } finally {
    session.dispose();
  }
}
