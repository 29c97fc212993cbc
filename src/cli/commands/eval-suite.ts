/** `tabtune eval --suite FILE [--adapter DIR]`: every task on base and adapter, then the gate. */
import { dirname, resolve } from 'node:path';
import { judgeTask, parseSuite, type GateRow } from '../../core/eval/suite.ts';
import { checkTaskData, runTask, type TaskInput, type TaskKind, type TaskOutcome } from '../../core/eval/tasks.ts';
import { modelDir, openModel } from '../common.ts';
import { bar, type Output } from '../output.ts';
import { baseThenAdapter, readTextFile } from '../eval-files.ts';
import { baseQuant } from '../quant-flag.ts';

/** The `eval` options a task or suite run reads. */
export interface TaskRunOptions {
  readonly task?: TaskKind;
  readonly suite?: string;
  readonly template?: string;
  readonly fields?: string;
  readonly blocklist?: string;
  readonly maxNewTokens?: number;
  readonly data?: string;
  readonly model?: string;
  readonly adapter?: string;
  readonly int8: boolean;
  readonly quant?: string;
  readonly batch: number;
}

/** The gate said no: the records are printed; the exit status says it. */
export class GateFailed extends Error {
  constructor(failed: readonly GateRow[]) {
    super(`the gate failed: ${failed.map((r) => `${r.name} (${r.reasons.join('; ')})`).join(', ')}`);
  }
}

export async function runSuite(o: TaskRunOptions & { readonly suite: string }, out: Output): Promise<void> {
  const file = o.suite;
  const suite = parseSuite(await readTextFile(file), file);
  const dir = dirname(resolve(file));
  // Every data file is read and checked before the GPU is touched.
  const inputs: TaskInput[] = [];
  for (const t of suite.tasks) {
    const data = resolve(dir, t.data);
    const input: TaskInput = {
      kind: t.task, file: data, text: await readTextFile(data), template: t.template, fields: t.fields,
      blocklist: t.blocklist ? await readTextFile(resolve(dir, t.blocklist)) : undefined, maxNewTokens: t.maxNewTokens, batch: o.batch,
    };
    checkTaskData(input);
    inputs.push(input);
  }
  const session = await openModel(out, modelDir(o.model), o.adapter, { quant: baseQuant(o) });
  let runs: { base: TaskOutcome[]; adapter: TaskOutcome[] | null };
  try {
    runs = await baseThenAdapter(session, async (which) => {
      const got: TaskOutcome[] = [];
      for (const [i, input] of inputs.entries()) {
        const name = suite.tasks[i]!.name;
        got.push(await runTask(session, input, (d, n, what) => out.progress(`${name} (${which}) ${bar(d, n)} ${d}/${n} ${what}`)));
      }
      return got;
    });
  } finally {
    session.dispose();
  }
  out.clearProgress();
  const value = (m: TaskOutcome[] | null, i: number) => (m ? m[i]!.metrics[suite.tasks[i]!.metric] ?? null : null);
  const rows = suite.tasks.map((t, i) => judgeTask(t, value(runs.base, i), value(runs.adapter, i)));
  rows.forEach((r, i) => out.record({ ...r, metrics: { base: runs.base[i]!.metrics, adapter: runs.adapter?.[i]!.metrics ?? null } }));
  const failed = rows.filter((r) => !r.passed);
  const regressions = rows.filter((r) => r.regression).map((r) => r.name);
  out.record({ suite: suite.name, passed: failed.length === 0, failed: failed.map((r) => r.name), regressions });
  out.say(gateTable(suite.name, rows, runs.adapter !== null));
  if (failed.length) throw new GateFailed(failed);
}

function gateTable(name: string, rows: readonly GateRow[], tuned: boolean): string {
  const num = (x: number | null) => (x === null ? '-' : x.toFixed(4));
  const cols = (a: string, b: string, c: string, d: string, e: string) =>
    `  ${a.padEnd(16)} ${b.padEnd(18)} ${c.padStart(8)} ${tuned ? `${d.padStart(8)} ${e.padStart(8)}` : ''}`;
  const lines = [`suite ${name}`, `${cols('task', 'metric', 'base', 'tuned', 'change')}  gate`];
  for (const r of rows) {
    const mark = r.forgetting ? 'FORGETTING' : r.regression ? 'regression' : '';
    const change = r.delta === null ? '-' : `${r.delta >= 0 ? '+' : ''}${r.delta.toFixed(4)}`;
    lines.push(`${cols(r.name, r.metric, num(r.base), num(r.tuned), change)}  ${r.passed ? 'pass' : 'FAIL'} ${mark}`.trimEnd());
    for (const why of r.reasons) lines.push(`    ${why}`);
  }
  lines.push(rows.every((r) => r.passed) ? 'gate: pass' : 'gate: FAIL');
  return lines.join('\n');
}
