import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readTable, type ImportOptions } from '../../core/data/import.ts';
import { toJsonl } from '../../core/data/export.ts';
import { distribution } from '../../core/data/prepare/balance.ts';
import { DEFAULT_CLEAN } from '../../core/data/prepare/clean.ts';
import { DEFAULT_NEAR_DUP } from '../../core/data/prepare/duplicate-index.ts';
import { PII_KINDS } from '../../core/data/prepare/pii.ts';
import { prepareDataset, type PrepareConfig } from '../../core/data/prepare/pipeline.ts';
import { renderReport } from '../../core/data/prepare/report.ts';
import { paraphrase, selfInstruct, synthesizeFromTemplates, type PairTemplate, type TextGenerator } from '../../core/data/prepare/synthesize.ts';
import { LANGUAGES } from '../../core/data/prepare/language.ts';
import { SCRIPTS } from '../../core/data/prepare/script.ts';
import type { DatasetRecord } from '../../core/data/records.ts';
import { InputError } from '../../core/errors.ts';
import { Tokenizer } from '../../core/formats/tokenizer/tokenizer.ts';
import { writeFileAtomic } from '../../platform/node-atomic.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { options, required, type CommandSpec, type Parsed } from '../args.ts';
import { modelDir, openModel } from '../common.ts';
import { columnsFlag, importFile } from '../import-file.ts';
import type { Output } from '../output.ts';
import { checkOutputs } from '../output-checks.ts';
import { preferenceStatsCommand, preferenceText, preparePreferenceFile } from './data-preference.ts';

async function readRecords(file: string, out: Output, opts: ImportOptions = {}): Promise<DatasetRecord[]> {
  return (await importFile(file, opts, out)).records;
}

export const prepareSpec = {
  name: 'data prepare',
  summary: 'clean, de-duplicate, review personal data and blocklisted terms, balance; writes a new dataset and a quality report'
    + ' (preference files: duplicate pairs and personal data)',
  usage: 'tabtune data prepare --data FILE --out FILE [options] [--json]',
  flags: [
    { name: 'data', kind: 'string', value: 'FILE', help: 'input dataset (any supported format)' },
    { name: 'columns', kind: 'list', value: 'FIELD=COLUMN,...', help: 'which columns hold the known fields, e.g. prompt=question,completion=answer' },
    { name: 'out', kind: 'string', value: 'FILE', help: 'prepared dataset (JSONL); the input is never changed' },
    { name: 'report', kind: 'string', value: 'FILE', help: 'also write the quality report as JSON' },
    { name: 'clean', kind: 'boolean', help: 'Unicode, whitespace, control characters, empty records, chat structure (--no-clean: off)', default: true },
    { name: 'scripts', kind: 'list', value: 'Latin,Cyrillic,...', help: 'keep records mostly in these scripts', choices: SCRIPTS },
    {
      name: 'languages', kind: 'list', value: 'en,fr,...', help: 'keep Latin-script records guessed to be in these languages (en fr de es it pt nl)',
      choices: LANGUAGES,
    },
    { name: 'min-tokens', kind: 'int', help: 'drop shorter records (needs --model for its tokenizer)', min: 0 },
    { name: 'max-tokens', kind: 'int', help: 'drop longer records (needs --model)', min: 1 },
    { name: 'model', kind: 'string', value: 'DIR', help: 'tokenizer for token lengths (default: the demo model)' },
    { name: 'dedup', kind: 'string', value: 'both|exact|near|off', help: 'duplicate removal', default: 'both', choices: ['both', 'exact', 'near', 'off'] },
    {
      name: 'near-threshold', kind: 'number', value: 'J', help: 'Jaccard similarity for near duplicates', default: DEFAULT_NEAR_DUP.threshold,
      min: 0, max: 1,
    },
    {
      name: 'pii', kind: 'string', value: 'mask|flag|off', help: 'personal data: emails, phones, cards, IBANs, IPs, URLs with secrets', default: 'mask',
      choices: ['mask', 'flag', 'off'],
    },
    { name: 'blocklist', kind: 'string', value: 'FILE', help: 'terms or phrases, one per line' },
    {
      name: 'blocklist-action', kind: 'string', value: 'flag|remove', help: 'what to do with blocklisted records', default: 'flag',
      choices: ['flag', 'remove'],
    },
    { name: 'balance-field', kind: 'string', value: 'FIELD', help: 'category field to balance on (a column, or "kind")' },
    {
      name: 'balance', kind: 'string', value: 'cap|undersample|oversample', help: 'balancing mode', default: 'cap',
      choices: ['cap', 'undersample', 'oversample'],
    },
    { name: 'cap', kind: 'int', help: 'records per category with --balance cap', default: 1000, min: 1 },
    { name: 'val-data', kind: 'string', value: 'FILE', help: 'validation set to check for leakage from the prepared training set' },
    { name: 'seed', kind: 'int', help: 'seed for hashing and sampling', default: 42, min: 0 },
  ],
  examples: ['tabtune data prepare --data raw.jsonl --out clean.jsonl --pii mask --blocklist words.txt --report report.json'],
} as const satisfies CommandSpec;

export async function prepare(p: Parsed, out: Output): Promise<void> {
  const o = options(prepareSpec, p);
  const file = resolve(required(o.data, 'data'));
  const outFile = resolve(required(o.out, 'out'));
  checkOutputs({
    inputs: { '--data': file, '--val-data': o.valData, '--blocklist': o.blocklist },
    files: { '--out': outFile, '--report': o.report },
  });
  const pairs = await preferenceText(file);
  if (pairs !== null) return preparePreferenceFile(file, pairs, outFile, o, p, out);
  // conversations that break the import rule come in as they are: the chat repair step reports them
  const columns = columnsFlag(p);
  const records = await readRecords(file, out, { ...(columns && { columns }), chatRules: false });
  const { dedup, pii, seed } = o;
  const needTokens = o.minTokens !== undefined || o.maxTokens !== undefined;
  const tok = needTokens ? await Tokenizer.fromTree(nodeFileTree(modelDir(o.model))) : null;
  const terms = o.blocklist ? blocklistTerms(await readFile(resolve(o.blocklist), 'utf8')) : [];
  const scripts = o.scripts ?? [];
  const languages = o.languages ?? [];
  const length = { ...(o.minTokens !== undefined && { minTokens: o.minTokens }), ...(o.maxTokens !== undefined && { maxTokens: o.maxTokens }) };
  const config: PrepareConfig = {
    clean: !o.clean && !needTokens && !scripts.length && !languages.length ? false : {
      ...DEFAULT_CLEAN,
      ...(o.clean ? {} : { normalize: false, controlChars: false, whitespace: false, chat: false }),
      scripts: scripts.length ? { allowed: scripts, minShare: 0.5 } : false,
      languages: languages.length ? { allowed: languages, keepUnknown: true, minHits: 2, margin: 1.5 } : false,
      length: needTokens ? length : false,
    },
    dedup: dedup === 'off' ? false : {
      exact: dedup !== 'near', near: dedup === 'exact' ? false : { ...DEFAULT_NEAR_DUP, threshold: o.nearThreshold, seed },
    },
    review: pii === 'off' && !terms.length ? false : {
      pii: pii === 'off' ? false : { mode: pii, kinds: PII_KINDS },
      blocklist: terms.length ? { terms, action: o.blocklistAction } : false,
    },
    balance: o.balanceField ? { field: o.balanceField, mode: o.balance, cap: o.cap, seed } : false,
  };
  const validation = o.valData ? await readRecords(resolve(o.valData), out) : undefined;
  const t0 = performance.now();
  const r = await prepareDataset(records, config, {
    countTokens: tok ? (t) => tok.encode(t).length : undefined, validation,
    onProgress: (step, done, total) => out.progress(`${step}: ${done}/${total}`),
  });
  out.clearProgress();
  const seconds = (performance.now() - t0) / 1000;
  writeFileAtomic(outFile, toJsonl(r.records));
  if (o.report) writeFileAtomic(resolve(o.report), `${JSON.stringify(r.report, null, 2)}\n`);
  const perSecond = Math.round(records.length / seconds);
  out.record({
    input: r.report.input, output: r.report.output, records_per_second: perSecond, flags: r.report.flagCounts,
    duplicate_clusters: r.report.duplicates?.clusterCount ?? 0, out: outFile,
  });
  out.say(renderReport(r.report));
  out.say(`${records.length} records in ${seconds.toFixed(1)} s (${perSecond} records/s); wrote ${r.records.length} to ${outFile}`);
}

/** Blocklist file: one term or phrase a line; blank lines and # comments are skipped. */
const blocklistTerms = (text: string) => text.split(/\r?\n/).map((t) => t.trim()).filter((t) => t && !t.startsWith('#'));

export const statsSpec = {
  name: 'data stats',
  summary: 'what a dataset holds: formats, problems, lengths, duplicates, personal data, a field\'s distribution; preference pairs too',
  usage: 'tabtune data stats --data FILE [--field F] [--json]',
  flags: [
    { name: 'data', kind: 'string', value: 'FILE', help: 'dataset file' },
    { name: 'columns', kind: 'list', value: 'FIELD=COLUMN,...', help: 'which columns hold the known fields, e.g. prompt=question,completion=answer' },
    { name: 'field', kind: 'string', value: 'F', help: 'show the distribution of this field' },
  ],
} as const satisfies CommandSpec;

export async function stats(p: Parsed, out: Output): Promise<void> {
  const o = options(statsSpec, p);
  const file = resolve(required(o.data, 'data'));
  const pairs = await preferenceText(file);
  if (pairs !== null) return preferenceStatsCommand(file, pairs, p, out);
  const columns = columnsFlag(p);
  const records = await readRecords(file, out, columns && { columns });
  const r = await prepareDataset(records, {
    clean: false, dedup: { exact: true, near: DEFAULT_NEAR_DUP }, review: { pii: { mode: 'flag', kinds: PII_KINDS }, blocklist: false }, balance: false,
  });
  const kinds = distribution(records, 'kind');
  const field = o.field ? distribution(records, o.field) : null;
  const duplicates = records.length - r.records.length;
  out.record({
    records: records.length, kinds, duplicates, flags: r.report.flagCounts, lengths: r.report.lengths.before, ...(field ? { distribution: field } : {}),
  });
  out.say(`${records.length} records: ${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(', ')}`);
  const personal = Object.entries(r.report.flagCounts).map(([k, n]) => `${n} ${k}`).join(', ') || 'none found';
  out.say(`duplicates (exact or near): ${duplicates}; personal data: ${personal}`);
  out.say(`length (characters): mean ${r.report.lengths.before.mean.toFixed(1)}, max ${r.report.lengths.before.max}`);
  if (field) out.say(`${o.field}: ${Object.entries(field).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
}

export const synthSpec = {
  name: 'data synth',
  summary: 'make instruction pairs: from table rows with templates, or with the model (self-instruct, paraphrase); marked for review',
  usage: 'tabtune data synth --method template --rows FILE --templates FILE --out FILE'
    + ' | --method self-instruct|paraphrase --data FILE [--model DIR] --out FILE',
  flags: [
    {
      name: 'method', kind: 'string', value: 'template|self-instruct|paraphrase', help: 'how to synthesise', default: 'template',
      choices: ['template', 'self-instruct', 'paraphrase'],
    },
    { name: 'rows', kind: 'string', value: 'FILE', help: 'CSV/JSON/JSONL rows for templates' },
    {
      name: 'templates', kind: 'string', value: 'FILE',
      help: 'JSON: [{"questions": ["What is the capital of {country}?", ...], "answer": "The capital of {country} is {capital}."}]',
    },
    { name: 'per-row', kind: 'int', help: 'phrasings per row and template', default: 2, min: 1 },
    { name: 'data', kind: 'string', value: 'FILE', help: 'seed examples (self-instruct) or records to paraphrase' },
    { name: 'model', kind: 'string', value: 'DIR', help: 'model that writes (default: the demo model)' },
    { name: 'adapter', kind: 'string', value: 'DIR', help: 'LoRA adapter for the model' },
    { name: 'count', kind: 'int', help: 'pairs to make (self-instruct)', default: 20, min: 1 },
    { name: 'out', kind: 'string', value: 'FILE', help: 'generated records (JSONL, each with "generated": METHOD) to review before use' },
    { name: 'seed', kind: 'int', help: 'seed', default: 42, min: 0 },
  ],
} as const satisfies CommandSpec;

export async function synth(p: Parsed, out: Output): Promise<void> {
  const o = options(synthSpec, p);
  const { method, seed } = o;
  const outFile = resolve(required(o.out, 'out'));
  checkOutputs({ inputs: { '--rows': o.rows, '--templates': o.templates, '--data': o.data }, files: { '--out': outFile } });
  let made: DatasetRecord[];
  if (method === 'template') {
    const rowsFile = resolve(required(o.rows, 'rows'));
    let bytes: Uint8Array;
    try {
      bytes = await readFile(rowsFile);
    } catch (e) {
      throw new InputError(rowsFile, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    // the table's own columns, whatever their names: they are not records
    const parsed = readTable(rowsFile, bytes);
    for (const q of parsed.problems.slice(0, 20)) out.warn(`${q.source.file}:${q.source.line}: ${q.reason} (left out)`);
    const table = parsed.rows.map((r) => r.value);
    const templatesFile = required(o.templates, 'templates');
    let templates: PairTemplate[];
    try {
      templates = JSON.parse(await readFile(resolve(templatesFile), 'utf8')) as PairTemplate[];
    } catch (e) {
      throw new InputError(templatesFile, `not a JSON list of {questions, answer} (${(e as Error).message})`);
    }
    made = synthesizeFromTemplates(table, templates, { seed, perRow: o.perRow, file: rowsFile });
  } else {
    const records = await readRecords(resolve(required(o.data, 'data')), out);
    const session = await openModel(out, modelDir(o.model), o.adapter);
    try {
      const tok = session.requireTokenizer();
      const generator: TextGenerator = {
        async generate(prompt, sampling) {
          const ids = tok.encode(prompt, { addSpecialTokens: true });
          const { maxNewTokens, temperature, seed: sampleSeed } = sampling;
          const g = await session.generate(ids, { maxNewTokens, temperature, topP: 0.95, seed: sampleSeed });
          return g.text ?? '';
        },
      };
      made = method === 'self-instruct' ? await selfInstruct(generator, records, { count: o.count, seed }) : await paraphrase(generator, records, { seed });
    } finally {
      session.dispose();
    }
  }
  writeFileAtomic(outFile, toJsonl(made));
  out.record({ generated: made.length, method, out: outFile });
  out.say(`${made.length} generated records (method ${method}) written to ${outFile}; review them before adding them to a dataset`);
}
