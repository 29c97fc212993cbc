/**
 * `tabtune eval --task mc|grounded|safety` and `tabtune eval --suite FILE`: benchmark tasks on top of
 * the plain `eval` command (which measures perplexity of a dataset).
 */
import { parseFieldMap } from '../../core/eval/mc-records.ts';
import { checkTaskData, runTask as runOneTask, TASK_KINDS, type TaskInput, type TaskOutcome } from '../../core/eval/tasks.ts';
import { required, type FlagSpec } from '../args.ts';
import { modelDir, openModel } from '../common.ts';
import { bar, type Output } from '../output.ts';
import { baseThenAdapter, readTextFile } from '../eval-files.ts';
import { runSuite, type TaskRunOptions } from './eval-suite.ts';
import { baseQuant } from '../quant-flag.ts';

export const TASK_FLAGS = [
  {
    name: 'task', kind: 'string', value: TASK_KINDS.join('|'), help: 'a benchmark instead of perplexity: mc (multiple choice), grounded, safety',
    choices: TASK_KINDS,
  },
  { name: 'suite', kind: 'string', value: 'FILE', help: 'run a suite on the base model and the adapter; exit 1 when its gate fails' },
  { name: 'template', kind: 'string', value: 'TEXT|chat', help: 'mc context with {question} and {field}s, or chat (the chat template)' },
  { name: 'fields', kind: 'string', value: 'MAP', help: 'mc field names, e.g. question=ctx,choices=endings,answer=label (default: recognised)' },
  { name: 'blocklist', kind: 'string', value: 'FILE', help: 'safety: terms to flag in answers, one a line (personal data is always flagged)' },
  { name: 'max-new-tokens', kind: 'int', value: 'N', help: 'grounded and safety: longest generated answer (default 48)', min: 1 },
] as const satisfies readonly FlagSpec[];

/** `\n` and `\t` typed on a command line mean a newline and a tab. */
export function unescapeFlag(s: string): string {
  return s.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
}

export async function runTask(o: TaskRunOptions, out: Output): Promise<void> {
  if (o.suite !== undefined) return runSuite({ ...o, suite: o.suite }, out);
  const kind = required(o.task, 'task');
  const file = required(o.data, 'data');
  const input: TaskInput = {
    kind, file, text: await readTextFile(file),
    template: o.template === undefined ? undefined : unescapeFlag(o.template),
    fields: o.fields ? parseFieldMap(o.fields) : undefined,
    blocklist: o.blocklist ? await readTextFile(o.blocklist) : undefined,
    maxNewTokens: o.maxNewTokens, batch: o.batch,
  };
  // Inputs are read and checked before the GPU is touched.
  checkTaskData(input);
  const session = await openModel(out, modelDir(o.model), o.adapter, { quant: baseQuant(o) });
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
