import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { datasetHash } from '../../core/data/hash.ts';
import type { RunManifest } from '../../core/train/manifest.ts';
import { splitTrainValidation } from '../../core/data/split.ts';
import { InputError } from '../../core/errors.ts';
import { readPeftAdapter } from '../../core/model/lora.ts';
import { pissaIterations, type LoraInit } from '../../core/model/pissa-export.ts';
import { prepareModel } from '../../core/session.ts';
import { TrainJob } from '../../core/pipeline/train-job.ts';
import { trainConfig, type TrainConfig } from '../../core/train/config.ts';
import { MODULE_GROUPS, trainsParameter, type FreezeOptions } from '../../core/train/freeze.ts';
import { trainedParameters } from '../../core/train/trained-count.ts';
import type { Transformer } from '../../core/model/transformer.ts';
import type { TrainEvent } from '../../core/train/events.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { given, options, UsageError, type CommandSpec, type Options, type Parsed } from '../args.ts';
import { loadCheckpoint, saveCheckpoint } from '../checkpoints.ts';
import { demoDataDir, modelDir, openSession } from '../common.ts';
import { loadData, type LoadedData } from '../dataset.ts';
import { checkOutputs } from '../output-checks.ts';
import { bar, duration, onStdoutClosed, type Output } from '../output.ts';
import { columnsFlag } from '../import-file.ts';
import { writeFiles, writeZip } from './merge.ts';
import { METHOD_FLAGS, trainMethod } from '../train-method.ts';
import { trainPreference } from './train-preference.ts';
import { trainGrpo } from './train-grpo.ts';
import { runFindLr } from '../find-lr.ts';
import { DERIVED_HELP } from '../train-defaults.ts';
import { defaultTrainConfig, modelParameters, type DefaultTrainSettings } from '../../core/train/defaults.ts';
import { trainingRows } from '../../core/pipeline/training-data.ts';
import { baseQuant, QUANT_FLAG } from '../quant-flag.ts';
import { FIT_FLAGS, fitRun } from '../fit.ts';
import { quantExportNote } from '../../core/model/base-quant.ts';
import { basePrecision, checkPrecisionFlags, PRECISION_FLAG } from '../precision.ts';

export const spec = {
  name: 'train',
  summary: 'fine-tune with LoRA (or every weight) and write a PEFT adapter (or model folder)',
  usage: 'tabtune train [--model DIR] [--data FILE] [--out DIR] [options]   (no --model/--data: the offline demo)',
  flags: [
    {
      name: 'manifest', kind: 'string', value: 'FILE',
      help: 'repeat a run from its run_manifest.json (model, data, every setting; flags you give override it)',
    },
    { name: 'zip', kind: 'boolean', help: 'also write OUT.zip with the adapter (or model) folder' },
    { name: 'model', kind: 'string', value: 'DIR', help: 'Hugging Face model folder (default: the demo model)' },
    {
      name: 'data', kind: 'string', value: 'FILE',
      help: 'training data: JSONL/JSON/CSV/TSV/TXT in any supported record format (default: the demo task)',
    },
    { name: 'val-data', kind: 'string', value: 'FILE', help: 'validation data (instead of --val-split)' },
    { name: 'columns', kind: 'list', value: 'FIELD=COLUMN,...', help: 'which columns hold the known fields, e.g. prompt=question,completion=answer' },
    { name: 'out', kind: 'string', value: 'DIR', help: 'output folder', default: 'tabtune-out' },
    ...METHOD_FLAGS,
    { name: 'lora-r', kind: 'int', value: 'R', help: `LoRA rank (${DERIVED_HELP})`, min: 1 },
    { name: 'lora-alpha', kind: 'number', value: 'A', help: `LoRA alpha (scaling alpha/r; ${DERIVED_HELP})`, above: 0 },
    { name: 'lora-dropout', kind: 'number', value: 'P', help: `LoRA dropout (${DERIVED_HELP})`, min: 0, below: 1 },
    { name: 'lora-targets', kind: 'list', value: 'all-linear|q_proj,v_proj,...', help: 'modules to adapt', default: 'all-linear' },
    { name: 'rslora', kind: 'boolean', help: 'rank-stabilised scaling alpha/√r' },
    { name: 'use-dora', kind: 'boolean', help: 'DoRA: learn a magnitude per output feature over the normalised W + B·A (PEFT use_dora)' },
    {
      name: 'init-lora-weights', kind: 'string', value: 'default|pissa|pissa_niter_N',
      help: 'PiSSA: start A, B from the top-r singular vectors (base = residual); pissa is an exact float64 SVD, pissa_niter_N randomized',
    },
    { name: 'train-last', kind: 'int', value: 'N', help: '--tune full: train only the last N layers (and the final norm); the rest stays the base', min: 1 },
    { name: 'freeze-layers', kind: 'list', value: 'I,J,...', help: '--tune full: these decoder layers (0-based) stay frozen' },
    { name: 'train-modules', kind: 'list', value: 'attn|mlp|qkv|o|up|down|norm|embed|head,...', help: '--tune full: only these module groups train' },
    {
      name: 'half-ft', kind: 'int', value: 'N', min: 1,
      help: '--tune full: half fine-tuning, a seeded half of each layer type trains and the halves swap every N steps',
    },
    { name: 'loraplus-lr-ratio', kind: 'number', value: 'R', help: 'LoRA+: lora_B learns at R × lr (PEFT\'s loraplus_lr_ratio, e.g. 16)', above: 0 },
    { name: 'int8', kind: 'boolean', help: 'hold the base model\'s linear weights as int8 with per-channel scales (LoRA only; a quarter of the memory)' },
    QUANT_FLAG,
    PRECISION_FLAG,
    { name: 'init-adapter', kind: 'string', value: 'DIR', help: 'start from an existing PEFT adapter' },
    { name: 'lr', kind: 'number', value: 'LR', help: `peak learning rate (${DERIVED_HELP}; see --find-lr)`, above: 0 },
    {
      name: 'find-lr', kind: 'boolean',
      help: 'learning-rate range test: a short sweep prints loss against lr and suggests one; trains nothing',
    },
    {
      name: 'schedule', kind: 'string', value: 'constant|linear|cosine',
      help: `learning-rate schedule (${DERIVED_HELP})`, choices: ['constant', 'linear', 'cosine'],
    },
    { name: 'warmup', kind: 'int', value: 'N', help: `warmup steps (${DERIVED_HELP})`, min: 0 },
    { name: 'batch', kind: 'int', value: 'B', help: `rows per micro-batch (${DERIVED_HELP})`, min: 1 },
    { name: 'grad-accum', kind: 'int', value: 'N', help: 'micro-batches per optimizer step', default: 1, min: 1 },
    { name: 'steps', kind: 'int', value: 'N', help: 'optimizer steps (overrides --epochs)', min: 1 },
    { name: 'epochs', kind: 'number', value: 'E', help: `passes over the training data (${DERIVED_HELP})`, above: 0 },
    { name: 'weight-decay', kind: 'number', value: 'W', help: `AdamW decoupled weight decay (${DERIVED_HELP})`, min: 0 },
    { name: 'betas', kind: 'list', value: 'B1,B2', help: 'AdamW betas', default: '0.9,0.999' },
    { name: 'eps', kind: 'number', value: 'E', help: 'AdamW epsilon', default: 1e-8, above: 0 },
    { name: 'clip', kind: 'number', value: 'C', help: `global gradient-norm clip (0: off; ${DERIVED_HELP})`, min: 0 },
    { name: 'shuffle', kind: 'boolean', help: 'draw batches in a seeded order (--no-shuffle: file order)', default: true },
    { name: 'seed', kind: 'int', value: 'S', help: 'seed for data order, LoRA init, dropout and the split', default: 42, min: 0 },
    { name: 'val-split', kind: 'number', value: 'F', help: 'fraction of records held out for validation', default: 0, min: 0, below: 1 },
    { name: 'eval-every', kind: 'int', value: 'N', help: 'validate every N steps (0: at the end)', default: 0, min: 0 },
    {
      name: 'early-stopping', kind: 'int', value: 'PATIENCE',
      help: 'stop after PATIENCE validations without improvement; restore the best', default: 0, min: 0,
    },
    { name: 'save-every', kind: 'int', value: 'N', help: 'write OUT/checkpoint-STEP every N steps', default: 0, min: 0 },
    { name: 'resume', kind: 'string', value: 'DIR', help: 'continue from a checkpoint folder (or the newest checkpoint-N in DIR)' },
    { name: 'grad-checkpointing', kind: 'boolean', help: 'recompute activations in the backward (less memory, ~30% slower)' },
    { name: 'max-seq-len', kind: 'int', value: 'N', help: 'truncate examples to N tokens (and to the model\'s positions)', default: 512, min: 2 },
    ...FIT_FLAGS,
    { name: 'packing', kind: 'boolean', help: 'pack short examples into full rows (attention never crosses examples)' },
    { name: 'mask-prompt', kind: 'boolean', help: 'train only on completions / assistant turns (--no-mask-prompt: every token)', default: true },
  ],
  examples: [
    'tabtune train   # the offline demo: demo model + grounded Q&A',
    'tabtune train --model ./SmolLM2-135M --data chat.jsonl --out ./adapter --lora-r 16 --lora-alpha 32 --epochs 2 --val-split 0.1 --eval-every 50',
    'tabtune train --model ./m --data ids.jsonl --out ./out --lr 1e-2 --schedule constant --steps 3 --no-shuffle --json',
  ],
} as const satisfies CommandSpec;

type TrainOptions = Options<typeof spec.flags>;

/** Flags whose starting values come from the model and data size (core/train/defaults.ts). */
const DERIVED = ['lr', 'schedule', 'warmup', 'batch', 'epochs', 'weightDecay', 'clip', 'loraR', 'loraAlpha', 'loraDropout'] as const;

export function configFrom(o: TrainOptions, tune: 'lora' | 'full', d: DefaultTrainSettings): TrainConfig {
  const betas = o.betas.map(Number);
  if (betas.length !== 2 || betas.some((b) => !(b >= 0 && b < 1))) throw new UsageError('--betas needs two numbers in [0, 1), e.g. 0.9,0.999');
  const targets = o.loraTargets;
  const c = d.config;
  return trainConfig({
    method: tune, schedule: o.schedule ?? c.schedule, lr: o.lr ?? c.lr, batch: o.batch ?? c.batch,
    warmup: o.warmup ?? d.warmupFor({ steps: o.steps, batch: o.batch ?? c.batch, gradAccum: o.gradAccum, epochs: o.epochs ?? c.epochs }),
    gradAccum: o.gradAccum, steps: o.steps, epochs: o.epochs ?? c.epochs, weightDecay: o.weightDecay ?? c.weightDecay, clip: o.clip ?? c.clip,
    betas: [betas[0]!, betas[1]!], eps: o.eps, shuffle: o.shuffle, seed: o.seed, evalEvery: o.evalEvery,
    earlyStoppingPatience: o.earlyStopping, saveEvery: o.saveEvery, gradCheckpointing: o.gradCheckpointing,
    ...(o.loraplusLrRatio !== undefined && { loraplusLrRatio: loraOnly(tune, '--loraplus-lr-ratio', o.loraplusLrRatio) }),
    ...freezeFrom(o, tune),
    lora: {
      r: o.loraR ?? c.lora.r, alpha: o.loraAlpha ?? c.lora.alpha, dropout: o.loraDropout ?? c.lora.dropout, rslora: o.rslora,
      ...(o.useDora && { dora: loraOnly(tune, '--use-dora', true) }),
      ...(o.initLoraWeights !== undefined && { init: loraOnly(tune, '--init-lora-weights', loraInit(o.initLoraWeights)) }),
      targets: targets.length === 1 && targets[0] === 'all-linear' ? 'all-linear' : targets,
    },
  });
}

function loraInit(v: string): LoraInit {
  try {
    pissaIterations(v);
  } catch {
    throw new UsageError(`--init-lora-weights must be default, pissa or pissa_niter_N (e.g. pissa_niter_4), got "${v}"`);
  }
  return v as LoraInit;
}

/** What a full run trains: every weight, or the part freezing leaves (with its Adam state). */
function trainedLine(config: TrainConfig, model: Transformer): string {
  const { trained, total, adamBytes, gradBytes } = trainedParameters(model.cfg, model.weights.store, config);
  if (trained === total) return `all ${total.toLocaleString()} parameters`;
  const what = config.halfFt ? 'a half-fine-tuning round\'s' : 'the unfrozen';
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${what} ${trained.toLocaleString()} of ${total.toLocaleString()} parameters (gradients ${mib(gradBytes)}, Adam state ${mib(adamBytes)})`;
}

/** --train-last / --freeze-layers / --train-modules / --half-ft: only for --tune full. */
function freezeFrom(o: TrainOptions, tune: 'lora' | 'full'): { freeze?: FreezeOptions; halfFt?: { roundSteps: number } } {
  const layers = o.freezeLayers ?? [];
  const modules = o.trainModules ?? [];
  if (o.halfFt !== undefined) {
    if (tune !== 'full') throw new UsageError('--half-ft is for --tune full');
    if (o.trainLast !== undefined || layers.length || modules.length) {
      throw new UsageError('--half-ft chooses what trains itself; drop --train-last, --freeze-layers and --train-modules');
    }
    return { halfFt: { roundSteps: o.halfFt } };
  }
  if (o.trainLast === undefined && layers.length === 0 && modules.length === 0) return {};
  if (tune !== 'full') throw new UsageError('--train-last, --freeze-layers and --train-modules are for --tune full');
  const freezeLayers = layers.map((v) => {
    if (!/^\d+$/.test(v)) throw new UsageError(`--freeze-layers needs layer numbers, got "${v}"`);
    return Number(v);
  });
  const bad = modules.find((m) => !(MODULE_GROUPS as readonly string[]).includes(m));
  if (bad) throw new UsageError(`--train-modules: "${bad}" is not one of ${MODULE_GROUPS.join(', ')}`);
  const freeze: FreezeOptions = {
    ...(o.trainLast !== undefined && { trainLast: o.trainLast }), ...(layers.length && { freezeLayers }), ...(modules.length && { trainModules: modules }),
  };
  return { freeze };
}

/** A LoRA-only flag's value; an error for --tune full. */
function loraOnly<T>(tune: 'lora' | 'full', flag: string, v: T): T {
  if (tune !== 'lora') throw new UsageError(`${flag} is for LoRA runs (--tune lora)`);
  return v;
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
  const set = (flag: string, v: string | number | boolean | string[] | null | undefined) => {
    if (!typed.has(flag) && v !== undefined && v !== null) p[flag] = v;
  };
  const c = m.config;
  const src = m.model.source;
  set('model', typeof src === 'object' && src !== null && 'path' in src && typeof src.path === 'string' ? src.path : m.model.name);
  set('data', m.dataset.name);
  set('tune', c.method); set('lr', c.lr); set('schedule', c.schedule); set('warmup', c.warmup); set('batch', c.batch);
  set('grad-accum', c.gradAccum); set('steps', c.steps); set('epochs', c.epochs); set('weight-decay', c.weightDecay); set('clip', c.clip);
  set('betas', [...c.betas].map(String)); set('eps', c.eps); set('shuffle', c.shuffle); set('seed', c.seed); set('eval-every', c.evalEvery);
  set('early-stopping', c.earlyStoppingPatience); set('save-every', c.saveEvery); set('grad-checkpointing', c.gradCheckpointing);
  set('lora-r', c.lora.r); set('lora-alpha', c.lora.alpha); set('lora-dropout', c.lora.dropout); set('rslora', c.lora.rslora);
  set('loraplus-lr-ratio', c.loraplusLrRatio); set('use-dora', c.lora.dora); set('init-lora-weights', c.lora.init);
  set('train-last', c.freeze?.trainLast); set('freeze-layers', c.freeze?.freezeLayers?.map(String));
  set('train-modules', c.freeze?.trainModules && [...c.freeze.trainModules]);
  set('half-ft', c.halfFt?.roundSteps);
  set('lora-targets', c.lora.targets === 'all-linear' ? ['all-linear'] : [...c.lora.targets]);
  set('max-seq-len', m.dataset.maxLength); set('packing', m.dataset.packing); set('mask-prompt', m.dataset.maskPrompt);
  set('val-split', m.dataset.validationFraction);
  set('precision', c.precision); set('quant', c.quant === 'none' ? undefined : c.quant);
  return { hash: m.dataset.hash };
}

export async function run(p: Parsed, out: Output): Promise<void> {
  const manifest = options(spec, p).manifest;
  const repeat = manifest ? fromManifest(p, resolve(manifest)) : null;
  const o = options(spec, p);
  const { method, tune } = trainMethod(p);
  const columns = columnsFlag(p);
  checkPrecisionFlags(o.precision, o.int8 || (o.quant !== undefined && o.quant !== 'none'));
  const dir = modelDir(o.model);
  const dataFile = resolve(o.data ?? join(demoDataDir(), 'demo-grounded-qa.jsonl'));
  const demoData = o.data === undefined;
  const outDir = resolve(o.out);
  checkOutputs({
    inputs: { '--model': dir, '--data': dataFile, '--val-data': o.valData, '--init-adapter': o.initAdapter, '--manifest': manifest },
    folder: { flag: '--out', path: outDir, kind: 'run', zip: o.zip, resuming: o.resume !== undefined },
  });
  const quant = baseQuant(o, tune);
  const prepared = await prepareModel(nodeFileTree(dir));
  const cfg = prepared.inspected.cfg;
  const sizeRule = (examples: number) => defaultTrainConfig({ parameters: modelParameters(cfg) }, { examples }, tune);
  // Preference and GRPO data are read by their own paths; the size rule applies once they know the example count.
  if (method === 'grpo') return trainGrpo(p, out, (examples) => configFrom(o, tune, sizeRule(examples)));
  if (method !== 'sft') return trainPreference(p, o, out, (examples) => configFrom(o, tune, sizeRule(examples)), method, quant);
  const dataOpts = { maxLength: o.maxSeqLen, maskPrompt: o.maskPrompt, ...(columns && { columns }) };
  const data = await loadData(dataFile, prepared.tokenizer, cfg, dataOpts, out);
  if (repeat && (await datasetHash(data.records)) !== repeat.hash) {
    throw new InputError(dataFile, `its records differ from the manifest's dataset (sha256 ${repeat.hash.slice(0, 12)}…); the run would not repeat`);
  }
  const defaults = sizeRule(data.examples.length);
  let config = configFrom(o, tune, defaults);
  if (config.freeze) {
    try {
      trainsParameter(cfg, config.freeze);
    } catch (e) {
      throw new UsageError(`--${(e as Error).message}`);
    }
  }
  if (DERIVED.some((k) => o[k] === undefined)) out.say(`defaults: ${defaults.reason}`);
  let valData: LoadedData | null = null;
  if (o.valData) valData = await loadData(resolve(o.valData), prepared.tokenizer, cfg, dataOpts, out);
  else if (demoData && o.valSplit === 0) valData = await loadData(join(demoDataDir(), 'demo-grounded-qa-eval.jsonl'), prepared.tokenizer, cfg, dataOpts, out);
  const validationFraction = o.valSplit;
  let split = valData
    ? { train: data.examples, validation: valData.examples }
    : splitTrainValidation(data.examples, { fraction: validationFraction, seed: config.seed });
  if (config.method !== 'lora' && o.initAdapter) throw new UsageError('--init-adapter is for LoRA runs (--method lora)');
  const initAdapter = o.initAdapter ? await readPeftAdapter(cfg, nodeFileTree(o.initAdapter)) : undefined;
  const resumed = o.resume ? await loadCheckpoint(resolve(o.resume), (line) => out.warn(line)) : null;

  const session = await openSession(out);
  try {
    const fitQuant = o.quant ?? (o.int8 ? 'int8' : null);
    const fitAs = { budgetMiB: o.gpuMemory, gpu: session.gpu, maxSeqLen: o.maxSeqLen, quant: fitQuant, precision: o.precision };
    const fit = o.fit ? fitRun(out, cfg, config, split, fitAs) : null;
    if (fit) ({ config, split } = fit);
    if (fit && !fit.plan.fits) throw new UsageError(`--fit: ${fit.plan.reasons[0]}`);
    const loadAs = fit?.plan.quant ?? quant;
    const precision = basePrecision(session.gpu, o.precision, loadAs !== 'none');
    await session.loadModel(prepared, (done, total) => out.progress(`loading ${dir}: ${done}/${total} tensors`), { quant: loadAs, precision });
    out.clearProgress();
    if (o.findLr) {
      const rows = trainingRows(split, cfg, session.padTokenId(), { maxLength: dataOpts.maxLength, packing: o.packing });
      if (config.method === 'lora') session.newAdapter(config.lora, config.seed);
      await runFindLr(session.requireModel(), config, rows.seq, rows.train, out);
      return;
    }
    const stop = new AbortController();
    let writeFailure: Error | null = null;
    const started = Date.now();
    let job: TrainJob | null = null;
    job = await TrainJob.create({
      session, config: { ...config, precision, quant: loadAs },
      examples: split, rows: { maxLength: dataOpts.maxLength, packing: o.packing }, initAdapter, resume: resumed?.checkpoint,
      signal: stop.signal,
      describe: {
        model: { name: dir, source: { kind: 'local', path: dir } },
        dataset: { name: dataFile, version: 1, records: data.records, maskPrompt: dataOpts.maskPrompt, validationFraction, splitSeed: config.seed },
      },
      onEvent: (e) => report(e, out, job, started),
      onCheckpoint: async (c, adapter) => {
        // Periodic checkpoints when asked; and always one when a run stops early, so it can resume.
        if (c.state.step === 0 || (config.saveEvery === 0 && job?.state === 'finished')) return;
        const ckDir = join(outDir, `checkpoint-${c.state.step}`);
        try {
          saveCheckpoint(ckDir, c, adapter);
        } catch (e) {
          throw (writeFailure = e as Error);
        }
        out.record({ checkpoint: ckDir, step: c.state.step });
      },
    });
    const adapter = session.adapterInfo();
    const what = adapter
      ? `LoRA r=${adapter.r} on ${adapter.targets.length} module types (${adapter.parameters.toLocaleString()} parameters)`
      : trainedLine(config, session.requireModel());
    out.say(`training ${what} of ${dir}`);
    const rows = job.rows;
    const validation = rows.validation.length ? `, ${rows.validation.length} validation rows` : '';
    const truncated = data.truncated ? `, ${data.truncated} truncated` : '';
    const packed = o.packing ? ' (packed)' : '';
    out.say(`data: ${rows.train.length} training rows of ${rows.seq} tokens${packed} from ${split.train.length} examples${validation}${truncated}`);
    if (resumed) out.say(`resumed from ${resumed.dir} at step ${resumed.checkpoint.state.step}`);
    onStdoutClosed(() => stop.abort());
    process.once('SIGINT', () => {
      out.warn('stopping after this step (Ctrl-C again to abort)…');
      stop.abort();
      process.once('SIGINT', () => process.exit(130));
    });
    const { summary, files } = await job.run();
    out.clearProgress();
    job.destroy();
    if (summary.state === 'failed' || !files) throw writeFailure ?? new InputError(dataFile, summary.message ?? 'the run failed');
    writeFiles(outDir, files);
    const note = quantExportNote(loadAs);
    if (note) out.warn(note);
    if (o.zip) writeZip(`${outDir}.zip`, outDir, files);
    out.record({ done: { state: summary.state, steps: summary.steps, final_loss: summary.finalLoss, best_val_loss: summary.bestValLoss, out: outDir } });
    const why = summary.message ? ` (${summary.message})` : '';
    out.say(`${summary.state} after ${summary.steps} steps${why}; wrote ${Object.keys(files).join(', ')} to ${outDir}`);
  } finally {
    session.dispose();
  }
}

export function report(e: TrainEvent, out: Output, job: TrainJob | null, started: number): void {
  if (e.type === 'step') {
    out.record({ step: e.step, loss: e.loss, lr: e.lr, grad_norm: e.gradNorm, tokens_per_sec: Math.round(e.tokensPerSecond), gpu_memory: e.gpuMemory });
    const elapsed = (Date.now() - started) / 1000;
    const done = e.step - (job ? job.totalSteps - e.totalSteps : 0);
    const eta = (elapsed / Math.max(1, done)) * (e.totalSteps - e.step);
    const speed = `${Math.round(e.tokensPerSecond)} tok/s  ETA ${duration(eta)}`;
    const line = `${bar(e.step, e.totalSteps)} step ${e.step}/${e.totalSteps}  loss ${e.loss.toFixed(4)}  lr ${e.lr.toExponential(2)}  ${speed}`;
    out.progress(line, e.step === e.totalSteps);
  } else if (e.type === 'eval') {
    out.record({ eval: { step: e.step, val_loss: e.valLoss, val_perplexity: e.valPerplexity } });
    out.say(`step ${e.step}: validation loss ${e.valLoss.toFixed(4)} (perplexity ${e.valPerplexity.toFixed(2)})${e.best ? ' — best so far' : ''}`);
  } else if (e.type === 'alert') {
    out.record({ alert: { level: e.level, step: e.step, message: e.message } });
    // A failure's message is the run's one error line, printed as it exits.
    if (e.level !== 'error') out.warn(e.message);
  }
}
