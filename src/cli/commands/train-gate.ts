/**
 * `tabtune train-gate --adapter a=DIR --adapter b=DIR --data FILE --out DIR`: a learned mixture of
 * LoRA experts. A small per-token gate over the given adapters trains on the data with the
 * adapters and the base frozen (model/adapter-gate.ts); OUT gets gate.safetensors and
 * gate_config.json, which names the adapter folders (they are not copied). `--eval-data` scores
 * held-out files with the base, each adapter alone, an even mixture and the trained gate.
 */
import { resolve } from 'node:path';
import { InputError } from '../../core/errors.ts';
import { AdapterGate } from '../../core/model/adapter-gate.ts';
import { gateFiles, readGateAdapter } from '../../core/model/adapter-gate-files.ts';
import { LoraAdapter } from '../../core/model/lora.ts';
import type { Transformer } from '../../core/model/transformer.ts';
import { trainingRows } from '../../core/pipeline/training-data.ts';
import { prepareModel } from '../../core/session.ts';
import { meanLoss, trainGate } from '../../core/train/adapter-gate-train.ts';
import type { Row } from '../../core/data/rows.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { options, UsageError, type CommandSpec, type Parsed } from '../args.ts';
import { parseAdapterList } from '../adapter-list.ts';
import { modelDir, openSession } from '../common.ts';
import { loadData } from '../dataset.ts';
import { columnsFlag } from '../import-file.ts';
import { checkOutputs } from '../output-checks.ts';
import type { Output } from '../output.ts';
import { writeFiles } from './merge.ts';

export const spec = {
  name: 'train-gate',
  summary: 'train a per-token gate that mixes several frozen LoRA adapters (a learned mixture of LoRA experts)',
  usage: 'tabtune train-gate --adapter NAME=DIR --adapter NAME=DIR ... --data FILE --out DIR [--eval-data FILE,...] [options] [--json]',
  flags: [
    { name: 'model', kind: 'string', value: 'DIR', help: 'Hugging Face model folder the adapters were trained on (default: the demo model)' },
    { name: 'adapter', kind: 'list', value: 'NAME=DIR', help: 'a PEFT LoRA adapter folder to mix; two or more (repeat the flag)' },
    { name: 'data', kind: 'string', value: 'FILE', help: 'training data, in any format `tabtune train` reads (e.g. a mix of the adapters\' tasks)' },
    { name: 'columns', kind: 'list', value: 'FIELD=COLUMN,...', help: 'which columns hold the known fields, e.g. prompt=question,completion=answer' },
    { name: 'out', kind: 'string', value: 'DIR', help: 'output folder for gate.safetensors and gate_config.json', default: 'tabtune-gate' },
    { name: 'eval-data', kind: 'list', value: 'FILE,...', help: 'after training, score each file: base, each adapter alone, even mixture, gate' },
    { name: 'steps', kind: 'int', value: 'N', help: 'optimizer steps', default: 40, min: 1 },
    { name: 'batch', kind: 'int', value: 'B', help: 'rows per step', default: 4, min: 1 },
    { name: 'lr', kind: 'number', value: 'LR', help: 'AdamW learning rate of the gate (1e-2 did best on the demo; 5e-2 collapsed)', default: 1e-2, above: 0 },
    { name: 'weight-decay', kind: 'number', value: 'W', help: 'AdamW decoupled weight decay of the gate', default: 0, min: 0 },
    { name: 'seed', kind: 'int', value: 'S', help: 'seed of the data order', default: 42, min: 0 },
    { name: 'max-seq-len', kind: 'int', value: 'N', help: 'truncate examples to N tokens (and to the model\'s positions)', default: 256, min: 2 },
    { name: 'mask-prompt', kind: 'boolean', help: 'train only on completions / assistant turns (--no-mask-prompt: every token)', default: true },
  ],
  examples: [
    'tabtune train-gate --adapter qa=./qa-adapter --adapter facts=./facts-adapter --data mix.jsonl --out ./gate',
    'tabtune train-gate --adapter a=./a --adapter b=./b --data mix.jsonl --out ./gate --eval-data a-eval.jsonl,b-eval.jsonl --json',
  ],
} as const satisfies CommandSpec;

export async function run(p: Parsed, out: Output): Promise<void> {
  const o = options(spec, p);
  const adapters = parseAdapterList(o.adapter ?? []);
  if (adapters.length < 2) throw new UsageError(`--adapter must be given two or more times (NAME=DIR), got ${adapters.length}`);
  if (!o.data) throw new UsageError('--data needs the training file the gate learns from');
  const dir = modelDir(o.model);
  const dataFile = resolve(o.data);
  const outDir = resolve(o.out);
  const evalFiles = (o.evalData ?? []).map((f) => resolve(f));
  checkOutputs({
    inputs: {
      '--model': dir, '--data': dataFile, ...Object.fromEntries(adapters.map((a) => [`--adapter ${a.name}`, a.dir])),
      ...Object.fromEntries(evalFiles.map((f, i) => [`--eval-data (${i + 1})`, f])),
    },
    folder: { flag: '--out', path: outDir, kind: 'run' },
  });
  const prepared = await prepareModel(nodeFileTree(dir));
  const cfg = prepared.inspected.cfg;
  const gateAdapters = [];
  for (const a of adapters) gateAdapters.push(await readGateAdapter(a.name, cfg, nodeFileTree(a.dir)));
  const columns = columnsFlag(p);
  const dataOpts = { maxLength: o.maxSeqLen, maskPrompt: o.maskPrompt, ...(columns && { columns }) };
  const data = await loadData(dataFile, prepared.tokenizer, cfg, dataOpts, out);
  const evals = [];
  for (const f of evalFiles) evals.push({ file: f, data: await loadData(f, prepared.tokenizer, cfg, dataOpts, out) });
  const session = await openSession(out);
  try {
    await session.loadModel(prepared, (done, total) => out.progress(`loading ${dir}: ${done}/${total} tensors`));
    out.clearProgress();
    const model = session.requireModel();
    const gate = await AdapterGate.create(session.gpu, cfg, gateAdapters);
    const pad = session.padTokenId();
    const rows = trainingRows({ train: data.examples, validation: [] }, cfg, pad, { maxLength: o.maxSeqLen, packing: false });
    out.say(`gate over ${gate.names.join(', ')} (ranks ${gate.ranks.join(', ')}): ${cfg.layers} layers × ${gate.K}×${cfg.hidden + 1} parameters;`
      + ` ${rows.train.length} rows of ${rows.seq} tokens`);
    gate.attach(model);
    try {
      const settings = { steps: o.steps, batch: o.batch, lr: o.lr, weightDecay: o.weightDecay, seed: o.seed };
      const onStep = (s: number, loss: number) => out.progress(`step ${s}/${o.steps}  loss ${loss.toFixed(4)}`);
      const losses = await trainGate(model, gate, rows.train, rows.seq, settings, onStep);
      out.clearProgress();
      writeFiles(outDir, await gateFiles(gate, adapters.map((a) => a.dir), gateAdapters.find((a) => a.baseModel)?.baseModel ?? null));
      const scores = [];
      for (const e of evals) {
        const evalRows = trainingRows({ train: e.data.examples, validation: [] }, cfg, pad, { maxLength: o.maxSeqLen, packing: false });
        scores.push({ file: e.file, loss: await compare(model, gate, evalRows.train, evalRows.seq, gateAdapters) });
      }
      out.record({ gate: { adapters: gate.names, steps: losses.length, first_loss: losses[0], last_loss: losses.at(-1), out: outDir }, eval: scores });
      out.say(`trained ${losses.length} steps: loss ${losses[0]!.toFixed(4)} → ${losses.at(-1)!.toFixed(4)}; wrote the gate to ${outDir}`);
      for (const s of scores) out.say(`${s.file}: ${Object.entries(s.loss).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ')}`);
    } finally {
      gate.detach(model);
      gate.destroy();
    }
  } finally {
    session.dispose();
  }
}

/** Mean loss of rows with the base alone, each adapter alone, an even mixture (zero gate) and the trained gate. */
async function compare(
  model: Transformer, gate: AdapterGate, rows: readonly Row[], seq: number, adapters: Awaited<ReturnType<typeof readGateAdapter>>[],
): Promise<Record<string, number>> {
  if (rows.length === 0) throw new InputError('--eval-data', 'a file has no usable rows');
  const loss: Record<string, number> = { gate: await meanLoss(model, rows, seq) };
  const trained = await gate.values();
  gate.setValues(new Map([...trained].map(([k, v]) => [k, new Float32Array(v.length)])));
  loss.even = await meanLoss(model, rows, seq);
  gate.setValues(trained);
  gate.detach(model);
  loss.base = await meanLoss(model, rows, seq);
  for (const a of adapters) {
    model.lora = await LoraAdapter.load(model.gpu, model.cfg, a.files);
    loss[a.name] = await meanLoss(model, rows, seq);
    model.lora.destroy();
    model.lora = null;
  }
  gate.attach(model);
  return loss;
}
