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
import type { Language } from '../../core/data/prepare/language.ts';
import type { Script } from '../../core/data/prepare/script.ts';
import type { DatasetRecord } from '../../core/data/records.ts';
import { InputError } from '../../core/errors.ts';
import { Tokenizer } from '../../core/formats/tokenizer/tokenizer.ts';
import { writeFileAtomic } from '../../platform/node-atomic.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { need, UsageError, type CommandSpec, type Parsed } from '../args.ts';
import { modelDir, openModel } from '../common.ts';
import { columnsFlag, importFile } from '../import-file.ts';
import type { Output } from '../output.ts';
import { checkOutputs } from '../output-checks.ts';

async function readRecords(file: string, out: Output, opts: ImportOptions = {}): Promise<DatasetRecord[]> {
  return (await importFile(file, opts, out)).records;
}

const list = (v: unknown) => (Array.isArray(v) ? (v as string[]) : v ? String(v).split(',') : []).map((s) => s.trim()).filter(Boolean);

export const prepareSpec: CommandSpec = {
  name: 'data prepare',
  summary: 'clean, de-duplicate, review personal data and blocklisted terms, balance; writes a new dataset and a quality report',
  usage: 'tabtune data prepare --data FILE --out FILE [options] [--json]',
  flags: [
    { name: 'data', kind: 'string', value: 'FILE', help: 'input dataset (any supported format)' },
    { name: 'columns', kind: 'list', value: 'FIELD=COLUMN,...', help: 'which columns hold the known fields, e.g. prompt=question,completion=answer' },
    { name: 'out', kind: 'string', value: 'FILE', help: 'prepared dataset (JSONL); the input is never changed' },
    { name: 'report', kind: 'string', value: 'FILE', help: 'also write the quality report as JSON' },
    { name: 'clean', kind: 'boolean', help: 'Unicode, whitespace, control characters, empty records, chat structure (--no-clean: off)', default: true },
    { name: 'scripts', kind: 'list', value: 'Latin,Cyrillic,...', help: 'keep records mostly in these scripts' },
    { name: 'languages', kind: 'list', value: 'en,fr,...', help: 'keep Latin-script records guessed to be in these languages (en fr de es it pt nl)' },
    { name: 'min-tokens', kind: 'int', help: 'drop shorter records (needs --model for its tokenizer)' },
    { name: 'max-tokens', kind: 'int', help: 'drop longer records (needs --model)' },
    { name: 'model', kind: 'string', value: 'DIR', help: 'tokenizer for token lengths (default: the demo model)' },
    { name: 'dedup', kind: 'string', value: 'both|exact|near|off', help: 'duplicate removal', default: 'both' },
    { name: 'near-threshold', kind: 'number', value: 'J', help: 'Jaccard similarity for near duplicates', default: DEFAULT_NEAR_DUP.threshold },
    { name: 'pii', kind: 'string', value: 'mask|flag|off', help: 'personal data: emails, phones, cards, IBANs, IPs, URLs with secrets', default: 'mask' },
    { name: 'blocklist', kind: 'string', value: 'FILE', help: 'terms or phrases, one per line' },
    { name: 'blocklist-action', kind: 'string', value: 'flag|remove', help: 'what to do with blocklisted records', default: 'flag' },
    { name: 'balance-field', kind: 'string', value: 'FIELD', help: 'category field to balance on (a column, or "kind")' },
    { name: 'balance', kind: 'string', value: 'cap|undersample|oversample', help: 'balancing mode', default: 'cap' },
    { name: 'cap', kind: 'int', help: 'records per category with --balance cap', default: 1000 },
    { name: 'val-data', kind: 'string', value: 'FILE', help: 'validation set to check for leakage from the prepared training set' },
    { name: 'seed', kind: 'int', help: 'seed for hashing and sampling', default: 42 },
  ],
  examples: ['tabtune data prepare --data raw.jsonl --out clean.jsonl --pii mask --blocklist words.txt --report report.json'],
};

export async function prepare(p: Parsed, out: Output): Promise<void> {
  const file = resolve(need<string>(p, 'data'));
  checkOutputs({
    inputs: { '--data': file, '--val-data': p['val-data'] as string, '--blocklist': p.blocklist as string },
    files: { '--out': need<string>(p, 'out'), '--report': p.report as string },
  });
  // conversations that break the import rule come in as they are: the chat repair step reports them
  const columns = columnsFlag(p);
  const records = await readRecords(file, out, { ...(columns && { columns }), chatRules: false });
  const dedup = String(p.dedup);
  if (!['both', 'exact', 'near', 'off'].includes(dedup)) throw new UsageError('--dedup must be both, exact, near or off');
  const pii = String(p.pii);
  if (!['mask', 'flag', 'off'].includes(pii)) throw new UsageError('--pii must be mask, flag or off');
  const needTokens = p['min-tokens'] !== undefined || p['max-tokens'] !== undefined;
  const tok = needTokens ? await Tokenizer.fromTree(nodeFileTree(modelDir(p.model as string | undefined))) : null;
  const terms = p.blocklist ? (await readFile(resolve(p.blocklist as string), 'utf8')).split(/\r?\n/).map((t) => t.trim()).filter((t) => t && !t.startsWith('#')) : [];
  const scripts = list(p.scripts) as Script[];
  const languages = list(p.languages) as Language[];
  const config: PrepareConfig = {
    clean: p.clean === false && !needTokens && !scripts.length && !languages.length ? false : {
      ...DEFAULT_CLEAN,
      ...(p.clean === false ? { normalize: false, controlChars: false, whitespace: false, chat: false } : {}),
      scripts: scripts.length ? { allowed: scripts, minShare: 0.5 } : false,
      languages: languages.length ? { allowed: languages, keepUnknown: true, minHits: 2, margin: 1.5 } : false,
      length: needTokens ? { ...(p['min-tokens'] !== undefined ? { minTokens: p['min-tokens'] as number } : {}), ...(p['max-tokens'] !== undefined ? { maxTokens: p['max-tokens'] as number } : {}) } : false,
    },
    dedup: dedup === 'off' ? false : { exact: dedup !== 'near', near: dedup === 'exact' ? false : { ...DEFAULT_NEAR_DUP, threshold: p['near-threshold'] as number, seed: p.seed as number } },
    review: pii === 'off' && !terms.length ? false : { pii: pii === 'off' ? false : { mode: pii as 'mask' | 'flag', kinds: PII_KINDS }, blocklist: terms.length ? { terms, action: p['blocklist-action'] === 'remove' ? 'remove' : 'flag' } : false },
    balance: p['balance-field'] ? { field: p['balance-field'] as string, mode: p.balance as 'cap' | 'undersample' | 'oversample', cap: p.cap as number, seed: p.seed as number } : false,
  };
  const validation = p['val-data'] ? await readRecords(resolve(p['val-data'] as string), out) : undefined;
  const t0 = performance.now();
  const r = await prepareDataset(records, config, {
    countTokens: tok ? (t) => tok.encode(t).length : undefined, validation,
    onProgress: (step, done, total) => out.progress(`${step}: ${done}/${total}`),
  });
  out.clearProgress();
  const seconds = (performance.now() - t0) / 1000;
  writeFileAtomic(resolve(need<string>(p, 'out')), toJsonl(r.records));
  if (p.report) writeFileAtomic(resolve(p.report as string), `${JSON.stringify(r.report, null, 2)}\n`);
  out.record({ input: r.report.input, output: r.report.output, records_per_second: Math.round(records.length / seconds), flags: r.report.flagCounts, duplicate_clusters: r.report.duplicates?.clusterCount ?? 0, out: resolve(p.out as string) });
  out.say(renderReport(r.report));
  out.say(`${records.length} records in ${seconds.toFixed(1)} s (${Math.round(records.length / seconds)} records/s); wrote ${r.records.length} to ${resolve(p.out as string)}`);
}

export const statsSpec: CommandSpec = {
  name: 'data stats',
  summary: 'what a dataset holds: formats, problems, lengths, duplicates, personal data, a field\'s distribution (changes nothing)',
  usage: 'tabtune data stats --data FILE [--field F] [--json]',
  flags: [
    { name: 'data', kind: 'string', value: 'FILE', help: 'dataset file' },
    { name: 'columns', kind: 'list', value: 'FIELD=COLUMN,...', help: 'which columns hold the known fields, e.g. prompt=question,completion=answer' },
    { name: 'field', kind: 'string', value: 'F', help: 'show the distribution of this field' },
  ],
};

export async function stats(p: Parsed, out: Output): Promise<void> {
  const columns = columnsFlag(p);
  const records = await readRecords(resolve(need<string>(p, 'data')), out, columns && { columns });
  const r = await prepareDataset(records, { clean: false, dedup: { exact: true, near: DEFAULT_NEAR_DUP }, review: { pii: { mode: 'flag', kinds: PII_KINDS }, blocklist: false }, balance: false });
  const kinds = distribution(records, 'kind');
  const field = p.field ? distribution(records, p.field as string) : null;
  out.record({ records: records.length, kinds, duplicates: records.length - r.records.length, flags: r.report.flagCounts, lengths: r.report.lengths.before, ...(field ? { distribution: field } : {}) });
  out.say(`${records.length} records: ${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(', ')}`);
  out.say(`duplicates (exact or near): ${records.length - r.records.length}; personal data: ${Object.entries(r.report.flagCounts).map(([k, n]) => `${n} ${k}`).join(', ') || 'none found'}`);
  out.say(`length (characters): mean ${r.report.lengths.before.mean.toFixed(1)}, max ${r.report.lengths.before.max}`);
  if (field) out.say(`${p.field}: ${Object.entries(field).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
}

export const synthSpec: CommandSpec = {
  name: 'data synth',
  summary: 'make instruction pairs: from table rows with templates, or with the model (self-instruct, paraphrase); marked for review',
  usage: 'tabtune data synth --method template --rows FILE --templates FILE --out FILE | --method self-instruct|paraphrase --data FILE [--model DIR] --out FILE',
  flags: [
    { name: 'method', kind: 'string', value: 'template|self-instruct|paraphrase', help: 'how to synthesise', default: 'template' },
    { name: 'rows', kind: 'string', value: 'FILE', help: 'CSV/JSON/JSONL rows for templates' },
    { name: 'templates', kind: 'string', value: 'FILE', help: 'JSON: [{"questions": ["What is the capital of {country}?", ...], "answer": "The capital of {country} is {capital}."}]' },
    { name: 'per-row', kind: 'int', help: 'phrasings per row and template', default: 2 },
    { name: 'data', kind: 'string', value: 'FILE', help: 'seed examples (self-instruct) or records to paraphrase' },
    { name: 'model', kind: 'string', value: 'DIR', help: 'model that writes (default: the demo model)' },
    { name: 'adapter', kind: 'string', value: 'DIR', help: 'LoRA adapter for the model' },
    { name: 'count', kind: 'int', help: 'pairs to make (self-instruct)', default: 20 },
    { name: 'out', kind: 'string', value: 'FILE', help: 'generated records (JSONL, each with "generated": METHOD) to review before use' },
    { name: 'seed', kind: 'int', help: 'seed', default: 42 },
  ],
};

export async function synth(p: Parsed, out: Output): Promise<void> {
  const method = String(p.method);
  checkOutputs({
    inputs: { '--rows': p.rows as string, '--templates': p.templates as string, '--data': p.data as string },
    files: { '--out': need<string>(p, 'out') },
  });
  let made: DatasetRecord[];
  if (method === 'template') {
    const rowsFile = resolve(need<string>(p, 'rows'));
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
    let templates: PairTemplate[];
    try {
      templates = JSON.parse(await readFile(resolve(need<string>(p, 'templates')), 'utf8')) as PairTemplate[];
    } catch (e) {
      throw new InputError(p.templates as string, `not a JSON list of {questions, answer} (${(e as Error).message})`);
    }
    made = synthesizeFromTemplates(table, templates, { seed: p.seed as number, perRow: p['per-row'] as number, file: rowsFile });
  } else if (method === 'self-instruct' || method === 'paraphrase') {
    const records = await readRecords(resolve(need<string>(p, 'data')), out);
    const session = await openModel(out, modelDir(p.model as string | undefined), p.adapter as string | undefined);
    try {
      const tok = session.requireTokenizer();
      const generator: TextGenerator = {
        async generate(prompt, o) {
          return (await session.generate(tok.encode(prompt, { addSpecialTokens: true }), { maxNewTokens: o.maxNewTokens, temperature: o.temperature, topP: 0.95, seed: o.seed })).text ?? '';
        },
      };
      made = method === 'self-instruct' ? await selfInstruct(generator, records, { count: p.count as number, seed: p.seed as number }) : await paraphrase(generator, records, { seed: p.seed as number });
    } finally {
      session.dispose();
    }
  } else {
    throw new UsageError('--method must be template, self-instruct or paraphrase');
  }
  writeFileAtomic(resolve(need<string>(p, 'out')), toJsonl(made));
  out.record({ generated: made.length, method, out: resolve(p.out as string) });
  out.say(`${made.length} generated records (method ${method}) written to ${resolve(p.out as string)}; review them before adding them to a dataset`);
}
