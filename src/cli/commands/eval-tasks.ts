/**
 * `tabtune eval --task mc|grounded|safety` and `tabtune eval --suite FILE`: benchmark tasks on top of
 * the plain `eval` command (which measures perplexity of a dataset).
 */
import { parseFieldMap } from '../../core/eval/mc-records.ts';
import { checkTaskData, runTask as runOneTask, TASK_KINDS, type TaskInput, type TaskKind, type TaskOutcome } from '../../core/eval/tasks.ts';
import { need, UsageError, type FlagSpec, type Parsed } from '../args.ts';
import { modelDir, openModel } from '../common.ts';
import { bar, type Output } from '../output.ts';
import { baseThenAdapter, readTextFile } from '../eval-files.ts';
import { runSuite } from './eval-suite.ts';

export const TASK_FLAGS: readonly FlagSpec[] = [
  { name: 'task', kind: 'string', value: TASK_KINDS.join('|'), help: 'a benchmark instead of perplexity: mc (multiple choice), grounded, safety' },
  { name: 'suite', kind: 'string', value: 'FILE', help: 'run a suite on the base model and the adapter; exit 1 when its gate fails' },
  { name: 'template', kind: 'string', value: 'TEXT|chat', help: 'mc context with {question} and {field}s, or chat (the chat template)' },
  { name: 'fields', kind: 'string', value: 'MAP', help: 'mc field names, e.g. question=ctx,choices=endings,answer=label (default: recognised)' },
  { name: 'blocklist', kind: 'string', value: 'FILE', help: 'safety: terms to flag in answers, one a line (personal data is always flagged)' },
  { name: 'max-new-tokens', kind: 'int', value: 'N', help: 'grounded and safety: longest generated answer (default 48)' },
];

/** `\n` and `\t` typed on a command line mean a newline and a tab. */
export function unescapeFlag(s: string): string {
  return s.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
}

export function isTaskRun(p: Parsed): boolean {
  return p.task !== undefined || p.suite !== undefined;
}

export async function runTask(p: Parsed, out: Output): Promise<void> {
  if (p.suite !== undefined) return runSuite(p, out);
  const kind = p.task as string;
  if (!(TASK_KINDS as readonly string[]).includes(kind)) throw new UsageError(`--task must be one of ${TASK_KINDS.join(', ')}, got "${kind}"`);
  const file = need<string>(p, 'data');
  const input: TaskInput = {
    kind: kind as TaskKind, file, text: await readTextFile(file),
    template: p.template === undefined ? undefined : unescapeFlag(p.template as string),
    fields: p.fields ? parseFieldMap(p.fields as string) : undefined,
    blocklist: p.blocklist ? await readTextFile(p.blocklist as string) : undefined,
    maxNewTokens: p['max-new-tokens'] as number | undefined, batch: p.batch as number,
  };
  // Inputs are read and checked before the GPU is touched.
  checkTaskData(input);
  const session = await openModel(out, modelDir(p.model as string | undefined), p.adapter as string | undefined, { int8: p.int8 === true });
  try {
    const run = (which: string) => runOneTask(session, input, (d, n, what) => out.progress(`${kind} (${which}) ${bar(d, n)} ${d}/${n} ${what}`));
    if (input.kind === 'safety') return report(out, kind, await baseThenAdapter(session, run));
    const r = await run(session.adapterInfo() ? 'adapter' : 'base');
    out.clearProgress();
    for (const d of r.details) out.record(d);
    out.record({ task: kind, n: r.n, ...r.metrics });
    out.say(`${kind}: ${metricText(r)} over ${r.n} ${kind === 'mc' ? 'questions' : 'records'}`);
  } finally {
    session.dispose();
  }
}

export function metricText(r: TaskOutcome): string {
  return Object.entries(r.metrics).map(([k, v]) => `${k} ${v === null ? '-' : v.toFixed(4)}`).join('  ');
}

/** Base and fine-tuned side by side: one line per prompt, then one summary line. */
function report(out: Output, kind: string, r: { base: TaskOutcome; adapter: TaskOutcome | null }): void {
  out.clearProgress();
  r.base.details.forEach((d, i) => out.record({ index: d.index, kind: d.kind, base: pick(d), adapter: r.adapter ? pick(r.adapter.details[i]!) : undefined }));
  out.record({ task: kind, n: r.base.n, base: r.base.metrics, adapter: r.adapter?.metrics });
  out.say(`${kind} base:    ${metricText(r.base)}`);
  if (r.adapter) out.say(`${kind} adapter: ${metricText(r.adapter)}`);
}

function pick(d: Record<string, unknown>): Record<string, unknown> {
  return { response: d.response, refusal: d.refusal, flags: d.flags };
}
