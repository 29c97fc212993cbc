/**
 * `tabtune train-cpt --docs PATH,...`: continued pre-training on raw documents (pipeline/cpt.ts),
 * then the held-out new documents' and the general sample's perplexity before and after, side by
 * side. Its own command rather than a `train` mode: `train` reads records (--data, --columns,
 * --mask-prompt, --packing, --val-split, chat templates) and `--method` picks a loss over them;
 * CPT reads documents (folders, several files), always packs and scores every token, holds out
 * whole documents, and reports two perplexities. The training flags are `train`'s own, so
 * --tune, the LoRA and freezing flags, lr, steps... mean exactly the same here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isDocumentFile, readDocuments, type Document } from '../../core/data/documents.ts';
import { InputError } from '../../core/errors.ts';
import { CptRun, type CptResult, type Perplexity } from '../../core/pipeline/cpt.ts';
import { prepareModel } from '../../core/session.ts';
import { defaultTrainConfig, modelParameters } from '../../core/train/defaults.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { options, UsageError, type CommandSpec, type FlagSpec, type Parsed } from '../args.ts';
import { demoDataDir, modelDir, openSession } from '../common.ts';
import { checkOutputs } from '../output-checks.ts';
import { onStdoutClosed, type Output } from '../output.ts';
import { writeFiles, writeZip } from './merge.ts';
import { configFrom, report, spec as trainSpec } from './train.ts';

/** `train` flags that mean the same for CPT (data, method, quantisation and resume flags do not apply). */
const SHARED = new Set([
  'model', 'out', 'zip', 'tune', 'lora-r', 'lora-alpha', 'lora-dropout', 'lora-targets', 'rslora', 'use-dora', 'init-lora-weights',
  'train-last', 'freeze-layers', 'train-modules', 'half-ft', 'loraplus-lr-ratio', 'lr', 'schedule', 'warmup', 'batch', 'grad-accum',
  'steps', 'epochs', 'weight-decay', 'betas', 'eps', 'clip', 'shuffle', 'seed', 'eval-every', 'early-stopping', 'grad-checkpointing',
]);

const CPT_FLAGS = [
  {
    name: 'docs', kind: 'list', value: 'PATH,...',
    help: 'the new documents: .txt and .md files (one document each), .jsonl ({"text": ...} per line), or folders of them',
  },
  {
    name: 'general', kind: 'string', value: 'FILE',
    help: 'general text scored before and after to show forgetting (default: the shipped public/datasets/general-sample.jsonl)',
  },
  { name: 'held-out', kind: 'number', value: 'F', help: 'fraction of the new documents held out and scored (at least one)', default: 0.2, above: 0, below: 1 },
  { name: 'max-seq-len', kind: 'int', value: 'N', help: 'tokens per row and per document window (capped at the model\'s positions)', default: 256, min: 2 },
  {
    name: 'overlap', kind: 'int', value: 'N', min: 0, default: 0,
    help: 'tokens a long document\'s next window repeats as context (not scored again); 0: windows follow each other',
  },
] as const satisfies readonly FlagSpec[];

export const spec = {
  name: 'train-cpt',
  summary: 'continued pre-training on raw documents; held-out and general perplexity before and after',
  usage: 'tabtune train-cpt --docs PATH,... [--model DIR] [--out DIR] [--general FILE] [train options]',
  flags: [...CPT_FLAGS, ...trainSpec.flags.filter((f) => SHARED.has(f.name))],
  examples: [
    'tabtune train-cpt --docs notes/ --out ./cpt-adapter --steps 40 --lr 2e-3',
    'tabtune train-cpt --model ./SmolLM2-135M --docs handbook.md,faq.jsonl --tune full --train-last 4 --json',
  ],
} as const satisfies CommandSpec;

/** Every document file under the paths, folders walked in name order. */
export function documentFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (path: string, top: boolean) => {
    let st;
    try {
      st = statSync(path);
    } catch (e) {
      throw new InputError(path, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (st.isDirectory()) {
      const before = out.length;
      for (const name of readdirSync(path).sort()) if (!name.startsWith('.')) walk(join(path, name), false);
      if (top && out.length === before) throw new InputError(path, 'the folder holds no .txt, .md or .jsonl documents');
    } else if (top || isDocumentFile(path)) {
      out.push(path);
    }
  };
  for (const p of paths) walk(resolve(p), true);
  return out;
}

function readAll(files: readonly string[]): Document[] {
  return files.flatMap((f) => readDocuments(f, new Uint8Array(readFileSync(f))));
}

export async function run(p: Parsed, out: Output): Promise<void> {
  const o = options(spec, p);
  if (!o.docs?.length) throw new UsageError('--docs needs the new documents: files (.txt, .md, .jsonl) or folders, comma-separated');
  // The train flags CPT leaves out keep train's defaults, so the shared config builder sees a whole set.
  for (const f of trainSpec.flags) {
    if (!SHARED.has(f.name) && 'default' in f && p[f.name] === undefined) p[f.name] = f.kind === 'list' ? String(f.default).split(',') : f.default;
  }
  const t = options(trainSpec, p);
  const tune = o.tune === 'full' ? 'full' : o.tune === 'lora' ? 'lora' : null;
  if (!tune) throw new UsageError(`--tune must be one of lora, full, got "${o.tune}"`);
  const dir = modelDir(o.model);
  const generalFile = resolve(o.general ?? join(demoDataDir(), 'general-sample.jsonl'));
  const outDir = resolve(o.out);
  const files = documentFiles(o.docs);
  checkOutputs({
    inputs: { '--model': dir, '--general': generalFile, ...Object.fromEntries(files.map((f, i) => [`--docs (${i + 1})`, f])) },
    folder: { flag: '--out', path: outDir, kind: 'run', zip: o.zip },
  });
  const documents = readAll(files);
  const general = readAll([generalFile]);
  const prepared = await prepareModel(nodeFileTree(dir));
  if (!prepared.tokenizer) throw new InputError(dir, 'continued pre-training needs the model\'s tokenizer.json to read documents');
  const cfg = prepared.inspected.cfg;
  const seq = Math.min(o.maxSeqLen, cfg.maxPositions);
  if (o.overlap >= seq) {
    throw new UsageError(`--overlap must be below the row length ${seq} (--max-seq-len, capped at the model's positions), got ${o.overlap}`);
  }
  const defaults = defaultTrainConfig({ parameters: modelParameters(cfg) }, { examples: documents.length }, tune);
  const config = configFrom(t, tune, defaults);
  const session = await openSession(out);
  try {
    await session.loadModel(prepared, (done, total) => out.progress(`loading ${dir}: ${done}/${total} tensors`));
    out.clearProgress();
    const started = Date.now();
    const stop = new AbortController();
    let cpt: CptRun | null = null;
    try {
      cpt = await CptRun.create({
        session, config, options: { seq, overlap: o.overlap, heldOut: o.heldOut }, documents, general,
        describe: { model: { name: dir, source: { kind: 'local', path: dir } }, datasetName: files.join(',') },
        onEvent: (e) => report(e, out, cpt?.job ?? null, started),
        onScore: (what, when) => out.progress(`scoring the ${what} (${when})…`, true),
        signal: stop.signal,
      });
    } catch (e) {
      if (e instanceof RangeError) throw new UsageError(e.message);
      throw e;
    }
    const d = cpt.data;
    out.say(`data: ${d.trainDocuments} documents (${d.trainTokens} tokens) → ${d.trainWindows} windows in ${d.trainRows} rows of ${seq} tokens;`
      + ` ${d.heldOutDocuments} held out, ${d.generalDocuments} general`);
    onStdoutClosed(() => stop.abort());
    const result = await cpt.run();
    out.clearProgress();
    cpt.destroy();
    if (result.summary.state === 'failed' || !result.files) throw new InputError(files[0]!, result.summary.message ?? 'the run failed');
    writeFiles(outDir, result.files);
    if (o.zip) writeZip(`${outDir}.zip`, outDir, result.files);
    out.record({ cpt: { before: result.before, after: result.after, data: d, steps: result.summary.steps, state: result.summary.state, out: outDir } });
    for (const line of perplexityTable(result)) out.say(line);
    out.say(`${result.summary.state} after ${result.summary.steps} steps; wrote ${Object.keys(result.files).join(', ')} to ${outDir}`);
  } finally {
    session.dispose();
  }
}

/** The before/after table: what was learned next to what may have been forgotten. */
export function perplexityTable(r: CptResult): string[] {
  const row = (label: string, b: Perplexity, a: Perplexity) => {
    const change = ((a.perplexity / b.perplexity - 1) * 100).toFixed(1);
    const signed = `${change.startsWith('-') ? '' : '+'}${change}%`;
    return `${label.padEnd(34)}${b.perplexity.toFixed(2).padStart(10)}${a.perplexity.toFixed(2).padStart(10)}${signed.padStart(10)}`;
  };
  return [
    `${'perplexity'.padEnd(34)}${'before'.padStart(10)}${'after'.padStart(10)}${'change'.padStart(10)}`,
    row(`new documents (${r.data.heldOutDocuments} held out)`, r.before.newDocuments, r.after.newDocuments),
    row(`general sample (${r.data.generalDocuments} documents)`, r.before.general, r.after.general),
  ];
}
