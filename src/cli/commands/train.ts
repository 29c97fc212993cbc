import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { datasetHash } from '../../core/data/hash.ts';
import type { RunManifest } from '../../core/train/manifest.ts';
import { packRows, padRows, rowLength } from '../../core/data/rows.ts';
import { splitTrainValidation } from '../../core/data/split.ts';
import { InputError } from '../../core/errors.ts';
import { readPeftAdapter } from '../../core/model/lora.ts';
import { prepareModel } from '../../core/session.ts';
import { trainConfig, type TrainConfig } from '../../core/train/config.ts';
import type { TrainEvent } from '../../core/train/events.ts';
import { runFiles } from '../../core/train/run-files.ts';
import { Trainer } from '../../core/train/trainer.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { given, UsageError, type CommandSpec, type Parsed } from '../args.ts';
import { loadCheckpoint, saveCheckpoint } from '../checkpoints.ts';
import { demoDataDir, modelDir, openSession } from '../common.ts';
import { loadData, type LoadedData } from '../dataset.ts';
import { bar, duration, type Output } from '../output.ts';
import { writeFiles, writeZip } from './merge.ts';
import { runFindLr } from '../find-lr.ts';
import { DERIVED_HELP, fillTrainDefaults } from '../train-defaults.ts';
import { defaultTrainConfig, modelParameters } from '../../core/train/defaults.ts';

export const spec: CommandSpec = {
  name: 'train',
  summary: 'fine-tune with LoRA (or every weight) and write a PEFT adapter (or model folder)',
  usage: 'tabtune train [--model DIR] [--data FILE] [--out DIR] [options]   (no --model/--data: the offline demo)',
  flags: [
    { name: 'manifest', kind: 'string', value: 'FILE', help: 'repeat a run from its run_manifest.json (model, data, every setting; flags you give override it)' },
    { name: 'zip', kind: 'boolean', help: 'also write OUT.zip with the adapter (or model) folder' },
    { name: 'model', kind: 'string', value: 'DIR', help: 'Hugging Face model folder (default: the demo model)' },
    { name: 'data', kind: 'string', value: 'FILE', help: 'training data: JSONL/JSON/CSV/TSV/TXT in any supported record format (default: the demo task)' },
    { name: 'val-data', kind: 'string', value: 'FILE', help: 'validation data (instead of --val-split)' },
    { name: 'out', kind: 'string', value: 'DIR', help: 'output folder', default: 'tabtune-out' },
    { name: 'method', kind: 'string', value: 'lora|full', help: 'what trains', default: 'lora' },
    { name: 'lora-r', kind: 'int', value: 'R', help: `LoRA rank (${DERIVED_HELP})` },
    { name: 'lora-alpha', kind: 'number', value: 'A', help: `LoRA alpha (scaling alpha/r; ${DERIVED_HELP})` },
    { name: 'lora-dropout', kind: 'number', value: 'P', help: `LoRA dropout (${DERIVED_HELP})` },
    { name: 'lora-targets', kind: 'list', value: 'all-linear|q_proj,v_proj,...', help: 'modules to adapt', default: 'all-linear' },
    { name: 'rslora', kind: 'boolean', help: 'rank-stabilised scaling alpha/√r' },
    { name: 'int8', kind: 'boolean', help: 'hold the base model\'s linear weights as int8 with per-channel scales (LoRA only; a quarter of the memory)' },
    { name: 'init-adapter', kind: 'string', value: 'DIR', help: 'start from an existing PEFT adapter' },
    { name: 'lr', kind: 'number', value: 'LR', help: `peak learning rate (${DERIVED_HELP}; see --find-lr)` },
    { name: 'find-lr', kind: 'boolean', help: 'learning-rate range test: a short sweep prints loss against lr and suggests one; trains nothing' },
    { name: 'schedule', kind: 'string', value: 'constant|linear|cosine', help: `learning-rate schedule (${DERIVED_HELP})` },
    { name: 'warmup', kind: 'int', value: 'N', help: `warmup steps (${DERIVED_HELP})` },
    { name: 'batch', kind: 'int', value: 'B', help: `rows per micro-batch (${DERIVED_HELP})` },
    { name: 'grad-accum', kind: 'int', value: 'N', help: 'micro-batches per optimizer step', default: 1 },
    { name: 'steps', kind: 'int', value: 'N', help: 'optimizer steps (overrides --epochs)' },
    { name: 'epochs', kind: 'number', value: 'E', help: `passes over the training data (${DERIVED_HELP})` },
    { name: 'weight-decay', kind: 'number', value: 'W', help: `AdamW decoupled weight decay (${DERIVED_HELP})` },
    { name: 'betas', kind: 'list', value: 'B1,B2', help: 'AdamW betas', default: '0.9,0.999' },
    { name: 'eps', kind: 'number', value: 'E', help: 'AdamW epsilon', default: 1e-8 },
    { name: 'clip', kind: 'number', value: 'C', help: `global gradient-norm clip (0: off; ${DERIVED_HELP})` },
    { name: 'shuffle', kind: 'boolean', help: 'draw batches in a seeded order (--no-shuffle: file order)', default: true },
    { name: 'seed', kind: 'int', value: 'S', help: 'seed for data order, LoRA init, dropout and the split', default: 42 },
    { name: 'val-split', kind: 'number', value: 'F', help: 'fraction of records held out for validation', default: 0 },
    { name: 'eval-every', kind: 'int', value: 'N', help: 'validate every N steps (0: at the end)', default: 0 },
    { name: 'early-stopping', kind: 'int', value: 'PATIENCE', help: 'stop after PATIENCE validations without improvement; restore the best', default: 0 },
    { name: 'save-every', kind: 'int', value: 'N', help: 'write OUT/checkpoint-STEP every N steps', default: 0 },
    { name: 'resume', kind: 'string', value: 'DIR', help: 'continue from a checkpoint folder (or the newest checkpoint-N in DIR)' },
    { name: 'grad-checkpointing', kind: 'boolean', help: 'recompute activations in the backward (less memory, ~30% slower)' },
    { name: 'max-seq-len', kind: 'int', value: 'N', help: 'truncate examples to N tokens', default: 512 },
    { name: 'packing', kind: 'boolean', help: 'pack short examples into full rows (attention never crosses examples)' },
    { name: 'mask-prompt', kind: 'boolean', help: 'train only on completions / assistant turns (--no-mask-prompt: every token)', default: true },
  ],
  examples: [
    'tabtune train   # the offline demo: demo model + grounded Q&A',
    'tabtune train --model ./SmolLM2-135M --data chat.jsonl --out ./adapter --lora-r 16 --lora-alpha 32 --epochs 2 --val-split 0.1 --eval-every 50',
    'tabtune train --model ./m --data ids.jsonl --out ./out --lr 1e-2 --schedule constant --steps 3 --no-shuffle --json',
  ],
};

function configFrom(p: Parsed): TrainConfig {
  const method = p.method as string;
  if (method !== 'lora' && method !== 'full') throw new UsageError('--method must be lora or full');
  const schedule = p.schedule as string;
  if (!['constant', 'linear', 'cosine'].includes(schedule)) throw new UsageError('--schedule must be constant, linear or cosine');
  const betas = (Array.isArray(p.betas) ? p.betas : String(p.betas).split(',')).map(Number);
  if (betas.length !== 2 || betas.some((b) => !(b >= 0 && b < 1))) throw new UsageError('--betas needs two numbers in [0, 1), e.g. 0.9,0.999');
  const targets = Array.isArray(p['lora-targets']) ? (p['lora-targets'] as string[]) : String(p['lora-targets']).split(',');
  try {
    return trainConfig({
      method, schedule: schedule as TrainConfig['schedule'], lr: p.lr as number, warmup: p.warmup as number,
      batch: p.batch as number, gradAccum: p['grad-accum'] as number, steps: p.steps as number | undefined, epochs: p.epochs as number,
      weightDecay: p['weight-decay'] as number, clip: p.clip as number, betas: [betas[0]!, betas[1]!], eps: p.eps as number,
      shuffle: p.shuffle !== false, seed: p.seed as number, evalEvery: p['eval-every'] as number,
      earlyStoppingPatience: p['early-stopping'] as number, saveEvery: p['save-every'] as number, gradCheckpointing: p['grad-checkpointing'] === true,
      lora: { r: p['lora-r'] as number, alpha: p['lora-alpha'] as number, dropout: p['lora-dropout'] as number, rslora: p.rslora === true, targets: targets.length === 1 && targets[0] === 'all-linear' ? 'all-linear' : targets },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Fills the flags the user did not give from a run manifest, so the run repeats. */
function fromManifest(p: Parsed, file: string): { hash: string } {
  let m: RunManifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as RunManifest;
  } catch (e) {
    throw new InputError(file, `not a readable run manifest (${(e as Error).message})`);
  }
  const typed = given(p);
  const set = (flag: string, v: unknown) => {
    if (!typed.has(flag) && v !== undefined && v !== null) p[flag] = v as never;
  };
  const c = m.config;
  const src = m.model.source as { path?: string } | undefined;
  set('model', src?.path ?? m.model.name);
  set('data', m.dataset.name);
  set('method', c.method); set('lr', c.lr); set('schedule', c.schedule); set('warmup', c.warmup); set('batch', c.batch);
  set('grad-accum', c.gradAccum); set('steps', c.steps); set('epochs', c.epochs); set('weight-decay', c.weightDecay); set('clip', c.clip);
  set('betas', [...c.betas].map(String)); set('eps', c.eps); set('shuffle', c.shuffle); set('seed', c.seed); set('eval-every', c.evalEvery);
  set('early-stopping', c.earlyStoppingPatience); set('save-every', c.saveEvery); set('grad-checkpointing', c.gradCheckpointing);
  set('lora-r', c.lora.r); set('lora-alpha', c.lora.alpha); set('lora-dropout', c.lora.dropout); set('rslora', c.lora.rslora);
  set('lora-targets', c.lora.targets === 'all-linear' ? ['all-linear'] : [...c.lora.targets]);
  set('max-seq-len', m.dataset.maxLength); set('packing', m.dataset.packing); set('mask-prompt', m.dataset.maskPrompt); set('val-split', m.dataset.validationFraction);
  return { hash: m.dataset.hash };
}

export async function run(p: Parsed, out: Output): Promise<void> {
  const repeat = p.manifest ? fromManifest(p, resolve(p.manifest as string)) : null;
  const dir = modelDir(p.model as string | undefined);
  const dataFile = resolve((p.data as string | undefined) ?? join(demoDataDir(), 'demo-grounded-qa.jsonl'));
  const demoData = p.data === undefined;
  const outDir = resolve(p.out as string);
  const prepared = await prepareModel(nodeFileTree(dir));
  const cfg = prepared.inspected.cfg;
  const dataOpts = { maxLength: p['max-seq-len'] as number, maskPrompt: p['mask-prompt'] !== false };
  const data = await loadData(dataFile, prepared.tokenizer, cfg.vocabSize, dataOpts, out);
  if (repeat && datasetHash(data.records) !== repeat.hash) {
    throw new InputError(dataFile, `its records differ from the manifest's dataset (sha256 ${repeat.hash.slice(0, 12)}…); the run would not repeat`);
  }
  const defaults = defaultTrainConfig({ parameters: modelParameters(cfg) }, { examples: data.examples.length }, p.method === 'full' ? 'full' : 'lora');
  if (fillTrainDefaults(p, defaults)) out.say(`defaults: ${defaults.reason}`);
  const config = configFrom(p);
  let valData: LoadedData | null = null;
  if (p['val-data']) valData = await loadData(resolve(p['val-data'] as string), prepared.tokenizer, cfg.vocabSize, dataOpts, out);
  else if (demoData && (p['val-split'] as number) === 0) {
    valData = await loadData(join(demoDataDir(), 'demo-grounded-qa-eval.jsonl'), prepared.tokenizer, cfg.vocabSize, dataOpts, out);
  }
  const indices = data.examples.map((_, i) => i);
  const split = valData ? { train: indices, validation: [] as number[] } : splitTrainValidation(indices, { fraction: p['val-split'] as number, seed: config.seed });
  const trainEx = split.train.map((i) => data.examples[i]!);
  const valEx = valData ? valData.examples : split.validation.map((i) => data.examples[i]!);
  const seq = rowLength([...trainEx, ...valEx], dataOpts.maxLength);
  const padId = cfg.padTokenId ?? cfg.eosTokenIds[0] ?? 0;
  const toRows = p.packing ? packRows : padRows;
  const train = toRows(trainEx, seq, padId);
  const validation = valEx.length ? toRows(valEx, seq, padId) : undefined;
  const initAdapter = p['init-adapter'] ? await readPeftAdapter(cfg, nodeFileTree(p['init-adapter'] as string)) : null;
  const resumed = p.resume ? await loadCheckpoint(resolve(p.resume as string)) : null;

  const session = await openSession(out);
  try {
    await session.loadModel(prepared, (done, total) => out.progress(`loading ${dir}: ${done}/${total} tensors`), { int8: p.int8 === true });
    out.clearProgress();
    if (config.method === 'lora') {
      if (initAdapter) await session.loadAdapter(initAdapter);
      else session.newAdapter(config.lora, config.seed);
    } else if (initAdapter) {
      throw new UsageError('--init-adapter is for LoRA runs (--method lora)');
    }
    out.say(`training ${config.method === 'lora' ? `LoRA r=${session.adapterInfo()!.r} on ${session.adapterInfo()!.targets.length} module types (${session.adapterInfo()!.parameters.toLocaleString()} parameters)` : `all ${session.info().parameters.toLocaleString()} parameters`} of ${dir}`);
    out.say(`data: ${train.length} training rows of ${seq} tokens${p.packing ? ' (packed)' : ''} from ${trainEx.length} examples${validation ? `, ${validation.length} validation rows` : ''}${data.truncated ? `, ${data.truncated} truncated` : ''}`);
    if (p['find-lr']) {
      await runFindLr(session.requireModel(), config, seq, train, out);
      return;
    }
    const events: TrainEvent[] = [];
    let trainer: Trainer | null = null;
    const started = Date.now();
    trainer = await Trainer.create({
      model: session.requireModel(), config, seq, train, validation, resume: resumed?.checkpoint,
      onEvent: (e) => {
        events.push(e);
        report(e, out, trainer, started);
      },
      onCheckpoint: async (c) => {
        // Periodic checkpoints when asked; and always one when a run stops early, so it can resume.
        if (c.state.step === 0 || (config.saveEvery === 0 && trainer?.runState === 'finished')) return;
        const ckDir = join(outDir, `checkpoint-${c.state.step}`);
        saveCheckpoint(ckDir, c, config.method === 'lora' ? await session.saveAdapter() : {});
        out.record({ checkpoint: ckDir, step: c.state.step });
      },
    });
    if (resumed) out.say(`resumed from ${resumed.dir} at step ${resumed.checkpoint.state.step}`);
    process.once('SIGINT', () => {
      out.warn('stopping after this step (Ctrl-C again to abort)…');
      trainer?.stop();
      process.once('SIGINT', () => process.exit(130));
    });
    const summary = await trainer.run();
    out.clearProgress();
    if (summary.state === 'failed') throw new InputError(dataFile, summary.message ?? 'the run failed');
    const files = await runFiles(session, {
      model: { name: dir, source: { kind: 'local', path: dir } },
      dataset: {
        name: dataFile, version: 1, records: data.records, trainRows: train.length, validationRows: validation?.length ?? 0, maxLength: dataOpts.maxLength,
        packing: p.packing === true, maskPrompt: dataOpts.maskPrompt, validationFraction: p['val-split'] as number, splitSeed: config.seed,
      },
      config, seq, totalSteps: trainer.totalSteps, events,
    });
    writeFiles(outDir, files);
    if (p.zip) writeZip(`${outDir}.zip`, outDir, files);
    trainer.destroy();
    out.record({ done: { state: summary.state, steps: summary.steps, final_loss: summary.finalLoss, best_val_loss: summary.bestValLoss, out: outDir } });
    out.say(`${summary.state} after ${summary.steps} steps${summary.message ? ` (${summary.message})` : ''}; wrote ${Object.keys(files).join(', ')} to ${outDir}`);
  } finally {
    session.dispose();
  }
}

function report(e: TrainEvent, out: Output, trainer: Trainer | null, started: number): void {
  if (e.type === 'step') {
    out.record({ step: e.step, loss: e.loss, lr: e.lr, grad_norm: e.gradNorm, tokens_per_sec: Math.round(e.tokensPerSecond), gpu_memory: e.gpuMemory });
    const elapsed = (Date.now() - started) / 1000;
    const done = e.step - (trainer ? trainer.totalSteps - e.totalSteps : 0);
    const eta = (elapsed / Math.max(1, done)) * (e.totalSteps - e.step);
    out.progress(`${bar(e.step, e.totalSteps)} step ${e.step}/${e.totalSteps}  loss ${e.loss.toFixed(4)}  lr ${e.lr.toExponential(2)}  ${Math.round(e.tokensPerSecond)} tok/s  ETA ${duration(eta)}`, e.step === e.totalSteps);
  } else if (e.type === 'eval') {
    out.record({ eval: { step: e.step, val_loss: e.valLoss, val_perplexity: e.valPerplexity } });
    out.say(`step ${e.step}: validation loss ${e.valLoss.toFixed(4)} (perplexity ${e.valPerplexity.toFixed(2)})${e.best ? ' — best so far' : ''}`);
  } else if (e.type === 'alert') {
    out.record({ alert: { level: e.level, step: e.step, message: e.message } });
    out.warn(e.message);
  }
}
