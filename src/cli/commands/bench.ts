import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchMatmul, matmulShapes } from '../../core/bench/matmul.ts';
import { benchGeneration, benchTraining } from '../../core/bench/train.ts';
import { MATMUL_KERNELS } from '../../core/kernels/matmul-configs.ts';
import { loadTransformer } from '../../core/model/load.ts';
import { BENCH_OPT_IN, PRESETS } from '../../core/model/presets.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { options, UsageError, type CommandSpec, type Parsed } from '../args.ts';
import { demoModelDir, openSession, packageRoot } from '../common.ts';
import type { Output } from '../output.ts';
import { basePrecision, checkPrecisionFlags, PRECISION_FLAG } from '../precision.ts';
import { baseQuant, QUANT_FLAG } from '../quant-flag.ts';
import { writeRandomModel } from './init.ts';

export const spec = {
  name: 'bench',
  summary: 'measure kernels, training and generation speed; prints one JSON line per measurement',
  usage: 'tabtune bench [--only matmul|train|generate] [--models demo,smollm2-135m,gpt2,qwen2.5-0.5b] [--seq N] [--batches 1,8] [--big] [--fast]'
    + ' [--fuse auto|on|off] [--norm-fuse auto|on|off]',
  flags: [
    { name: 'only', kind: 'string', value: 'WHAT', help: 'run one group: matmul, train or generate', choices: ['matmul', 'train', 'generate'] },
    {
      name: 'models', kind: 'list', value: 'NAMES',
      help: 'model shapes: demo, the random-weight presets or model folders (default: demo on a software adapter, all but olmoe-1b-7b on a GPU)',
    },
    { name: 'seq', kind: 'int', help: 'sequence length for training (default 256; 64 for presets on a software adapter)', min: 2 },
    { name: 'batches', kind: 'list', value: '1,8', help: 'micro-batch sizes', default: '1,8' },
    { name: 'steps', kind: 'int', help: 'timed steps per shape', default: 3, min: 1 },
    { name: 'big', kind: 'boolean', help: 'add the large matmul shapes (for real GPUs)' },
    PRECISION_FLAG,
    QUANT_FLAG,
    { name: 'fast', kind: 'boolean', help: 'Dawn toggles that skip validation (as onnxruntime runs); benchmarks only' },
    {
      name: 'fuse', kind: 'string', value: 'WHEN', choices: ['auto', 'on', 'off'], default: 'auto',
      help: 'LoRA and the MLP activation fused into the matmuls: auto (on for hardware adapters), on, or off (the before figures)',
    },
    {
      name: 'norm-fuse', kind: 'string', value: 'WHEN', choices: ['auto', 'on', 'off'], default: 'auto',
      help: 'layer norms read through by their matmuls instead of written: auto (on for hardware adapters), on, or off',
    },
  ],
  examples: ['npm run bench', 'npm run bench -- --only train --models demo,smollm2-135m --batches 1'],
} as const satisfies CommandSpec;

/** A random-weight model folder of a preset shape, made once under .tabtune/bench-models. */
async function presetDir(name: string, out: Output): Promise<string> {
  if (name === 'demo') return demoModelDir();
  if (existsSync(join(name, 'config.json'))) return name;  // a model folder (the tiny test fixtures)
  const dir = join(packageRoot(), '.tabtune', 'bench-models', name);
  if (!existsSync(join(dir, 'config.json'))) {  // written last, so its presence means the folder is whole
    writeRandomModel(name, dir, 'BF16', 0, (t, i, n) => out.progress(`making a random ${name}: ${t} (${i + 1}/${n})`));
    out.clearProgress();
  }
  return dir;
}

export async function run(p: Parsed, out: Output): Promise<void> {
  const o = options(spec, p);
  const badBatch = o.batches.find((s) => !(Number.isInteger(Number(s)) && Number(s) >= 1));
  if (badBatch !== undefined) throw new UsageError(`--batches needs whole numbers ≥ 1, got "${badBatch}"`);
  const unknown = o.models?.find((name) => name !== 'demo' && !PRESETS[name] && !existsSync(join(name, 'config.json')));
  if (unknown !== undefined) {
    throw new UsageError(`--models: unknown model shape "${unknown}" (demo, ${Object.keys(PRESETS).join(', ')}, or a model folder)`);
  }
  const batches = o.batches.map(Number);
  const quant = baseQuant(o);
  checkPrecisionFlags(o.precision, quant !== 'none');
  const session = await openSession(out, { fast: o.fast });
  const emit = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
  const say = (s: string) => process.stderr.write(`${s}\n`);
  try {
    const gpu = session.gpu;
    if (o.fuse !== 'auto') gpu.tuning.fuse = o.fuse === 'on';
    if (o.normFuse !== 'auto') gpu.tuning.normFuse = o.normFuse === 'on';
    emit({
      bench: 'adapter',
      adapter: gpu.adapter.description,
      software: gpu.adapter.software,
      features: [...gpu.features],
      maxStorageBufferBindingSize: gpu.limits.maxStorageBufferBindingSize,
    });
    if (!o.only || o.only === 'matmul') {
      let best = 0;
      for (const [label, M, N, K, ta, tb] of matmulShapes(o.big || !gpu.adapter.software)) {
        const r = await benchMatmul(gpu, label, M, N, K, ta, tb);
        best = Math.max(best, r.gflops);
        emit({ ...r, tflops: r.gflops / 1000 });
        say(`matmul ${label.padEnd(28)} ${r.gflops.toFixed(2).padStart(9)} GFLOP/s (${r.kernel})`);
      }
      // Every kernel on the largest square shape, so each choice stays justified by a number.
      const [M, N, K] = o.big || !gpu.adapter.software ? [2048, 2048, 2048] : [512, 512, 512];
      for (const kernel of MATMUL_KERNELS) {
        const other = await benchMatmul(gpu, `square ${M} (${kernel})`, M, N, K, false, false, kernel);
        emit({ ...other, tflops: other.gflops / 1000 });
        say(`matmul ${other.shape.padEnd(28)} ${other.gflops.toFixed(2).padStart(9)} GFLOP/s (${other.kernel})`);
      }
      emit({ bench: 'matmul-summary', bestGflops: best, bestTflops: best / 1000, adapter: gpu.adapter.description });
    }
    const presets = Object.keys(PRESETS).filter((name) => !BENCH_OPT_IN.has(name));
    for (const name of o.models ?? (gpu.adapter.software ? ['demo'] : ['demo', ...presets])) {
      if (o.only === 'matmul') continue;
      const dir = await presetDir(name, out);
      const precision = basePrecision(gpu, o.precision, quant !== 'none');
      const model = await loadTransformer(gpu, nodeFileTree(dir), undefined, { precision, quant });
      try {
        const seq = o.seq ?? (gpu.adapter.software && name !== 'demo' ? 64 : 256);
        if (!o.only || o.only === 'train') {
          for (const batch of batches) {
            const r = await benchTraining(gpu, model, name, { batch, seq, steps: o.steps, profile: name === 'demo' && batch === batches[0] });
            emit(r);
            const share = r.matmulAttentionShare !== null ? `, ${(100 * r.matmulAttentionShare).toFixed(0)}% in matmul+attention` : '';
            say(
              `train ${name} ${batch}x${seq}: ${r.tokens_per_s.toFixed(0)} tokens/s`
                + ` (${r.ms_per_step.toFixed(0)} ms/step, ${r.dispatches_per_step} dispatches,`
                + ` ${(r.nonmatmul_bytes_per_step / 2 ** 20).toFixed(1)} MiB non-matmul writes),`
                + ` peak ${r.peak_mib.toFixed(0)} MiB (estimate ${r.estimate_mib.toFixed(0)})${share}`,
            );
          }
        }
        if (!o.only || o.only === 'generate') {
          const g = await benchGeneration(model, name, { prompt: gpu.adapter.software && name !== 'demo' ? 32 : 128, newTokens: 16 });
          emit(g);
          say(`generate ${name}: prefill ${g.prefillTokensPerSecond.toFixed(0)} tokens/s, decode ${g.decodeTokensPerSecond.toFixed(1)} tokens/s`);
        }
      } finally {
        model.destroy();
      }
    }
  } finally {
    session.dispose();
  }
}
