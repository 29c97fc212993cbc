/**
 * The data commands on TRL preference files ({"prompt", "chosen", "rejected"}, conversational or
 * with an implicit prompt) and KTO files ({"prompt", "completion", "label"}): `data preview`
 * shows chosen and rejected side by side with the trained tokens marked, `data stats` counts
 * pairs, sides' lengths, identical answers, duplicates and personal data, and `data prepare`
 * removes duplicate pairs and masks personal data in every field. Bad rows: line and reason.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isPreferenceData, readPreferenceFile, type PreferenceFile } from '../../core/data/preference-file.ts';
import { preparePreferences } from '../../core/data/preference-prepare.ts';
import { previewRecord, type RecordPreview, type Segment } from '../../core/data/preference-preview.ts';
import { preferenceStats } from '../../core/data/preference-stats.ts';
import { DEFAULT_NEAR_DUP } from '../../core/data/prepare/duplicate-index.ts';
import { PII_KINDS } from '../../core/data/prepare/pii.ts';
import type { RecordProblem } from '../../core/data/records.ts';
import { InputError } from '../../core/errors.ts';
import { Tokenizer } from '../../core/formats/tokenizer/tokenizer.ts';
import { writeFileAtomic } from '../../platform/node-atomic.ts';
import { nodeFileTree } from '../../platform/node-files.ts';
import { given, options, required, UsageError, type CommandSpec, type Parsed } from '../args.ts';
import { modelDir } from '../common.ts';
import type { Output } from '../output.ts';

/** A data file as UTF-8 text; an unreadable one is an InputError naming it. */
export async function readDataText(file: string): Promise<string> {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(await readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, code ? `cannot read (${code})` : 'is not UTF-8 text (save it as UTF-8 and try again)');
  }
}

/** Each bad row, with its line and why (the first 20, then a count). */
function reportProblems(problems: readonly RecordProblem[], out: Output): void {
  for (const p of problems.slice(0, 20)) out.warn(`${p.source.file}:${p.source.line}: ${p.reason} (left out)`);
  if (problems.length > 20) out.warn(`… and ${problems.length - 20} more records left out`);
}

/** The file's text when it holds preference or KTO records; null for anything else (the SFT path reads it). */
export async function preferenceText(file: string): Promise<string | null> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(file));
  } catch {
    return null;
  }
  return isPreferenceData(file, text) ? text : null;
}

function readPreferences(file: string, text: string, out: Output): PreferenceFile {
  const f = readPreferenceFile(file, text);
  reportProblems(f.problems, out);
  if (f.rows.length === 0) throw new InputError(file, 'no usable preference records (TRL prompt/chosen/rejected, or prompt/completion/label for KTO)');
  return f;
}

/** Flags of the SFT pipeline that mean nothing for preference rows. */
function refuseFlags(p: Parsed, flags: readonly string[], command: string): void {
  const typed = given(p);
  const f = flags.find((x) => typed.has(x));
  if (f) throw new UsageError(`--${f} is not supported by ${command} on preference files`);
}

export const previewSpec = {
  name: 'data preview',
  summary: 'show preference pairs (chosen vs rejected side by side) or KTO examples as training sees them, trained tokens marked',
  usage: 'tabtune data preview --data FILE [--model DIR] [--limit N] [--json]',
  flags: [
    { name: 'data', kind: 'string', value: 'FILE', help: 'preference (prompt/chosen/rejected) or KTO (prompt/completion/label) file' },
    { name: 'model', kind: 'string', value: 'DIR', help: 'model whose tokenizer and chat template apply (default: the demo model)' },
    { name: 'limit', kind: 'int', value: 'N', help: 'records shown', default: 5, min: 1 },
    { name: 'max-seq-len', kind: 'int', value: 'N', help: 'tokens per side, as in training (longer sides are cut)', default: 512, min: 2 },
    { name: 'width', kind: 'int', value: 'N', help: 'characters per line of the side-by-side view', default: 100, min: 40 },
  ],
  examples: ['tabtune data preview --data pairs.jsonl --limit 3'],
} as const satisfies CommandSpec;

const OPEN = '⟦';
const CLOSE = '⟧';

/** Segments as text, each trained run between ⟦ and ⟧. */
const marked = (segments: readonly Segment[]) => segments.map((s) => (s.trained ? `${OPEN}${s.text}${CLOSE}` : s.text)).join('');

/** Text cut into lines of at most `w` characters (its own line breaks kept). */
function wrap(text: string, w: number): string[] {
  return text.split('\n').flatMap((line) => {
    const chars = [...line];
    if (chars.length === 0) return [''];
    const out: string[] = [];
    for (let i = 0; i < chars.length; i += w) out.push(chars.slice(i, i + w).join(''));
    return out;
  });
}

function sideBySide(left: string, right: string, titles: [string, string], width: number): string[] {
  const w = Math.floor((width - 3) / 2);
  const pad = (s: string) => s + ' '.repeat(Math.max(0, w - [...s].length));
  const a = [titles[0], '-'.repeat(w), ...wrap(left, w)];
  const b = [titles[1], '-'.repeat(w), ...wrap(right, w)];
  return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => `${pad(a[i] ?? '')} │ ${b[i] ?? ''}`.trimEnd());
}

/** The untrained start both sides share (the templated prompt), shown once above the columns. */
function sharedPrompt(a: readonly Segment[], b: readonly Segment[]): string {
  const x = a[0];
  const y = b[0];
  return x && y && !x.trained && !y.trained && x.text === y.text ? x.text : '';
}

function render(r: RecordPreview, file: string, width: number): string[] {
  const lines = [`${file}:${r.line}`];
  const bad = Object.entries(r.sides).filter(([, s]) => !s.ok);
  if (bad.length) return [...lines, ...bad.map(([k, s]) => `  ${k}: ${s.ok ? '' : s.reason} (left out in training)`)];
  const sides = Object.fromEntries(Object.entries(r.sides).map(([k, s]) => [k, s.ok ? s.side : null]));
  const count = (k: string) => `${k} (${sides[k]!.trainedTokens} of ${sides[k]!.tokens} tokens trained)`;
  if (r.label !== undefined) {
    const c = sides.completion!;
    return [...lines, `${count('completion')}, label ${r.label} (${r.label ? 'desirable' : 'undesirable'})`, ...wrap(marked(c.segments), width)];
  }
  const [c, j] = [sides.chosen!, sides.rejected!];
  const prompt = sharedPrompt(c.segments, j.segments);
  const rest = (s: readonly Segment[]) => marked(prompt ? s.slice(1) : s);
  if (prompt) lines.push('prompt:', ...wrap(prompt, width));
  return [...lines, ...sideBySide(rest(c.segments), rest(j.segments), [count('chosen'), count('rejected')], width)];
}

export async function preview(p: Parsed, out: Output): Promise<void> {
  const o = options(previewSpec, p);
  const file = resolve(required(o.data, 'data'));
  const f = readPreferences(file, await readDataText(file), out);
  const tok = await Tokenizer.fromTree(nodeFileTree(modelDir(o.model)));
  const shown = f.rows.slice(0, o.limit).map((row) => previewRecord(row.example, tok, o.maxSeqLen));
  for (const r of shown) out.record({ line: r.line, ...(r.label !== undefined && { label: r.label }), ...r.sides });
  const what = f.kind === 'paired' ? `${f.pairs.length} preference pairs` : `${f.unpaired.length} KTO examples`;
  out.say(`${what} (${f.problems.length} rows left out); showing ${shown.length}, trained tokens between ${OPEN} and ${CLOSE}`);
  for (const r of shown) out.say(['', ...render(r, file, o.width)].join('\n'));
}

const fmtLengths = (l: { mean: number; median: number; min: number; max: number }) =>
  `mean ${l.mean.toFixed(1)}, median ${l.median}, min ${l.min}, max ${l.max}`;

/** `data stats` on a preference file. */
export function preferenceStatsCommand(file: string, text: string, p: Parsed, out: Output): void {
  refuseFlags(p, ['columns', 'field'], 'data stats');
  const s = preferenceStats(readPreferences(file, text, out));
  out.record({ format: s.kind === 'paired' ? 'preference' : 'unpaired-preference', ...s });
  if (s.kind === 'paired') out.say(`${s.pairs} preference pairs; ${s.problems} rows left out, ${s.identical} of them with chosen identical to rejected`);
  else out.say(`${s.desirable + s.undesirable} KTO examples: ${s.desirable} desirable, ${s.undesirable} undesirable; ${s.problems} rows left out`);
  for (const [k, l] of Object.entries(s.lengths)) out.say(`${k} length (characters): ${fmtLengths(l)}`);
  const personal = Object.entries(s.personal).map(([k, n]) => `${n} ${k}`).join(', ') || 'none found';
  out.say(`exact duplicates: ${s.duplicates}; personal data (any field): ${personal}`);
}

/** The flags of `data prepare` that apply to preference files. */
export interface PreferencePrepareFlags {
  readonly dedup: string;
  readonly nearThreshold: number;
  readonly pii: string;
  readonly seed: number;
  readonly report?: string;
}

const SFT_PREPARE_FLAGS = [
  'columns', 'scripts', 'languages', 'min-tokens', 'max-tokens', 'model', 'blocklist', 'blocklist-action', 'balance-field', 'balance', 'cap', 'val-data',
];

/** `data prepare` on a preference file: duplicates across pairs, personal data in any field. */
export function preparePreferenceFile(file: string, text: string, outFile: string, o: PreferencePrepareFlags, p: Parsed, out: Output): void {
  refuseFlags(p, SFT_PREPARE_FLAGS, 'data prepare');
  const f = readPreferences(file, text, out);
  const { records, report } = preparePreferences(f, {
    dedup: o.dedup === 'off' ? false : {
      exact: o.dedup !== 'near', near: o.dedup === 'exact' ? false : { ...DEFAULT_NEAR_DUP, threshold: o.nearThreshold, seed: o.seed },
    },
    pii: o.pii === 'off' ? false : { mode: o.pii === 'flag' ? 'flag' : 'mask', kinds: PII_KINDS },
  });
  writeFileAtomic(outFile, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  if (o.report) writeFileAtomic(resolve(o.report), `${JSON.stringify(report, null, 2)}\n`);
  out.record({ input: report.input, output: report.output, problems: report.problems.length, duplicates: report.duplicates.length,
    personal: report.personalCounts, out: outFile });
  for (const d of report.duplicates.slice(0, 10)) {
    out.say(`${file}:${d.line}: ${d.kind} duplicate of line ${d.of}${d.kind === 'near' ? ` (similarity ${d.similarity.toFixed(2)})` : ''} (removed)`);
  }
  const verb = report.piiMode === 'mask' ? 'masked' : 'flagged';
  for (const h of report.personal.slice(0, 10)) out.say(`${file}:${h.line}: ${h.kind} in ${h.field} (${verb})`);
  const personal = Object.entries(report.personalCounts).map(([k, n]) => `${n} ${k}`).join(', ') || 'none found';
  out.say(`${report.input} rows: ${report.problems.length} left out, ${report.duplicates.length} duplicates removed; personal data: ${personal}`);
  out.say(`wrote ${report.output} ${f.kind === 'paired' ? 'pairs' : 'KTO examples'} to ${outFile}`);
}
