/**
 * `tabtune train --method dpo|orpo|simpo|kto`: the same model loading, trainer and run files as
 * SFT, with preference data (TRL formats) and the method's objective. `--json` prints one line per
 * step with TRL's metric names (rewards/chosen, rewards/rejected, rewards/accuracies,
 * rewards/margins, logps/chosen, logps/rejected), then the held-out metrics.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parsePreferenceDataset, preferenceDatasetHash, tokenizePreferences, type PreferenceImport } from '../../core/data/preference.ts';
import type { RecordProblem } from '../../core/data/records.ts';
import { splitTrainValidation } from '../../core/data/split.ts';
import { InputError } from '../../core/errors.ts';
import type { Tokenizer } from '../../core/formats/tokenizer/tokenizer.ts';
import { readPeftAdapter } from '../../core/model/lora.ts';
import { prepareModel } from '../../core/session.ts';
import type { TrainConfig } from '../../core/train/config.ts';
import type { TrainEvent } from '../../core/train/events.ts';
import { evaluatePreference } from '../../core/train/preference/evaluate.ts';
import { rowsPerExample, type PreferenceMethod, type PreferenceOptions } from '../../core/train/preference/method.ts';
import { longestRow, preferenceRows, type PreferenceRows } from '../../core/train/preference/rows.ts';
import { preferenceObjectiveFor } from '../../core/train/preference/setup.ts';
import { preferenceStrategy } from '../../core/pipeline/preference-strategy.ts';
import { TrainJob } from '../../core/pipeline/train-job.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { UsageError, type Parsed } from '../args.ts';
import { modelDir, openSession } from '../common.ts';
import { bar, type Output } from '../output.ts';
import { preferenceOptionsFrom } from '../train-method.ts';
import type { BaseQuant } from '../../core/model/base-quant.ts';
import { writeFiles, writeZip } from './merge.ts';
import { reportWritten, trainToEnd } from '../train-job-end.ts';

/** The `train` flags a preference run reads, typed by train.ts's schema. */
export interface PreferenceRunFlags {
  readonly model?: string;
  readonly data?: string;
  readonly out: string;
  readonly maxSeqLen: number;
  readonly valData?: string;
  readonly valSplit: number;
  readonly initAdapter?: string;
  readonly zip?: boolean;
}

const SFT_ONLY_FLAGS = ['resume', 'save-every', 'packing', 'manifest', 'eval-every', 'early-stopping'];

async function readPreferences(file: string, out: Output): Promise<PreferenceImport> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, code ? `cannot read (${code})` : 'is not UTF-8 text (save it as UTF-8 and try again)');
  }
  const data = parsePreferenceDataset(file, text);
  report(data.problems, out);
  return data;
}

function report(problems: readonly RecordProblem[], out: Output): void {
  for (const p of problems.slice(0, 20)) out.warn(`${p.source.file}:${p.source.line}: ${p.reason} (left out)`);
  if (problems.length > 20) out.warn(`… and ${problems.length - 20} more records left out`);
}

function tokenized(file: string, data: Pick<PreferenceImport, 'pairs' | 'unpaired'>, tok: Tokenizer, maxLength: number, out: Output) {
  const t = tokenizePreferences(data, tok, maxLength);
  report(t.problems, out);
  if (t.pairs.length + t.unpaired.length === 0) throw new InputError(file, 'no usable preference records');
  return t;
}

export async function trainPreference(
  p: Parsed, o: PreferenceRunFlags, out: Output, configFor: (examples: number) => TrainConfig, method: PreferenceMethod, quant: BaseQuant,
): Promise<void> {
  const unsupported = SFT_ONLY_FLAGS.find((f) => p[f] !== undefined && p[f] !== false && p[f] !== 0);
  if (unsupported) throw new UsageError(`--${unsupported} is not supported with --method ${method} yet`);
  if (o.data === undefined) {
    throw new UsageError(`--method ${method} needs --data FILE with preference records (TRL's prompt/chosen/rejected, or prompt/completion/label for KTO)`);
  }
  const options: PreferenceOptions = preferenceOptionsFrom(p, method);
  const dir = modelDir(o.model);
  const dataFile = resolve(o.data);
  const outDir = resolve(o.out);
  const prepared = await prepareModel(nodeFileTree(dir));
  const tok = prepared.tokenizer;
  if (!tok) throw new InputError(dir, 'preference training needs the model\'s tokenizer.json');
  const cfg = prepared.inspected.cfg;
  const maxLength = o.maxSeqLen;
  const data = await readPreferences(dataFile, out);
  const wanted = method === 'kto' ? 'unpaired' : 'paired';
  if (data.kind !== wanted) {
    const why = data.kind === null ? 'no usable preference records' : `holds ${data.kind} records; --method ${method} needs ${wanted} ones`;
    throw new InputError(dataFile, why);
  }
  // The size rule (steps, warmup) counts pairs or KTO examples, as SFT counts records.
  const config = configFor(data.pairs.length + data.unpaired.length);
  // Held-out examples: --val-data, or a seeded --val-split fraction of the pairs / examples.
  let heldOut: Pick<PreferenceImport, 'pairs' | 'unpaired'> = { pairs: [], unpaired: [] };
  let trainData: Pick<PreferenceImport, 'pairs' | 'unpaired'> = data;
  if (o.valData) {
    heldOut = await readPreferences(resolve(o.valData), out);
  } else if (o.valSplit > 0) {
    const pick = <T>(xs: T[]) => splitTrainValidation(xs, { fraction: o.valSplit, seed: config.seed });
    const pairs = pick(data.pairs);
    const unpaired = pick(data.unpaired);
    trainData = { pairs: pairs.train, unpaired: unpaired.train };
    heldOut = { pairs: pairs.validation, unpaired: unpaired.validation };
  }
  const train = tokenized(dataFile, trainData, tok, maxLength, out);
  const held = heldOut.pairs.length + heldOut.unpaired.length ? tokenizePreferences(heldOut, tok, maxLength) : null;
  const seq = Math.min(maxLength, Math.max(longestRow(train), held ? longestRow(held) : 2));
  const padId = cfg.padTokenId ?? cfg.eosTokenIds[0] ?? 0;
  const rows = preferenceRows(train, method, seq, padId);
  let heldRows: PreferenceRows | null = null;
  if (held && held.pairs.length + held.unpaired.length > 0) heldRows = preferenceRows(held, method, seq, padId);
  const initAdapter = o.initAdapter ? await readPeftAdapter(cfg, nodeFileTree(o.initAdapter)) : null;

  if (initAdapter && config.method !== 'lora') throw new UsageError('--init-adapter is for LoRA runs (--tune lora)');
  const k = rowsPerExample(method);
  const batch = config.batch * k;
  const strategy = preferenceStrategy({ options, seq, train: rows, heldOut: heldRows, batch, hash: await preferenceDatasetHash(trainData) });

  const session = await openSession(out);
  try {
    await session.loadModel(prepared, (done, total) => out.progress(`loading ${dir}: ${done}/${total} tensors`), { quant });
    out.clearProgress();
    const job = await TrainJob.create({
      session, config, strategy, rows: { maxLength, packing: false }, initAdapter: initAdapter ?? undefined,
      describe: {
        model: { name: dir, source: { kind: 'local', path: dir } },
        dataset: { name: dataFile, version: 1, records: [], maskPrompt: true, validationFraction: o.valSplit, splitSeed: config.seed },
      },
      onEvent: (e) => renderEvent(e, out),
    });
    const model = session.requireModel();
    const unit = k === 2 ? 'pairs' : 'examples';
    const heldNote = heldRows ? `, ${heldRows.rows.length / k} held out` : '';
    out.say(`${method.toUpperCase()} (${config.method === 'lora' ? 'LoRA' : 'full'}) on ${rows.rows.length / k} ${unit} of ≤ ${seq} tokens${heldNote}`);
    const heldInfos = heldRows
      ? (await preferenceObjectiveFor(model, options, heldRows.rows, heldRows.roles, batch, seq)).refs.map((ref, i) => ({ role: heldRows.roles[i]!, ref }))
      : null;
    const evaluate = async (when: string) => {
      if (!heldRows || !heldInfos) return;
      const r = await evaluatePreference(model, options, heldRows.rows, heldInfos, batch, seq);
      out.record({ eval: { when, loss: r.loss, ...r.metrics } });
      const m = r.metrics;
      out.say(`held out, ${when}: loss ${r.loss.toFixed(4)}, rewards/accuracies ${fmt(m['rewards/accuracies'])}, margins ${fmt(m['rewards/margins'])}`);
    };
    await evaluate('before');
    const { summary, files } = await trainToEnd(job, out, dataFile);
    await evaluate('after');
    writeFiles(outDir, files);
    if (o.zip) writeZip(`${outDir}.zip`, outDir, files);
    reportWritten(out, summary, files, outDir);
  } finally {
    session.dispose();
  }
}

/** One step or alert of the run, as TRL names its metrics. */
function renderEvent(e: TrainEvent, out: Output): void {
  if (e.type === 'step') {
    out.record({ step: e.step, loss: e.loss, lr: e.lr, grad_norm: e.gradNorm, ...e.metrics });
    const m = e.metrics ?? {};
    const line = `step ${e.step}/${e.totalSteps}  loss ${e.loss.toFixed(4)}  acc ${fmt(m['rewards/accuracies'])}  margin ${fmt(m['rewards/margins'])}`;
    out.progress(`${bar(e.step, e.totalSteps)} ${line}`, e.step === e.totalSteps);
  } else if (e.type === 'alert') {
    out.record({ alert: { level: e.level, step: e.step, message: e.message } });
    out.warn(e.message);
  }
}

const fmt = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(3));
