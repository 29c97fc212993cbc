/**
 * Benchmark suites in the app: saved suites, the gate for one run (base vs its adapter), and the
 * leaderboard of every run against every task evaluated. The Workbench delegates here.
 */
import { judgeTask, parseSuite, type GateRow } from '../eval/suite.ts';
import { checkTaskData, runTask, type TaskInput } from '../eval/tasks.ts';
import type { Session } from '../session.ts';
import type { KeyValueStore } from './store.ts';

/** A suite file and the texts of the files it names (data, blocklists), by the path it uses. */
export interface SuiteFiles {
  readonly name: string;
  readonly suite: string;
  readonly files: Readonly<Record<string, string>>;
}

export interface SuiteRequest extends SuiteFiles {
  /** The run whose adapter is gated against the base; null: the base only. */
  readonly runId: string | null;
}

export interface SuiteReport {
  readonly suite: string;
  readonly runId: string | null;
  readonly rows: readonly GateRow[];
  readonly passed: boolean;
}

export interface BoardEntry {
  readonly model: string;
  /** null: the base model. */
  readonly runId: string | null;
  readonly runName: string;
  readonly task: string;
  readonly metrics: Readonly<Record<string, number | null>>;
  readonly at: number;
}

export interface LeaderboardRow {
  readonly runId: string | null;
  readonly name: string;
  /** task → metric → value. */
  readonly values: Readonly<Record<string, Readonly<Record<string, number | null>>>>;
}

export interface Leaderboard {
  readonly model: string | null;
  readonly tasks: readonly { readonly name: string; readonly metrics: readonly string[] }[];
  /** The base model first, then runs newest first. */
  readonly rows: readonly LeaderboardRow[];
}

export type SuiteProgress = (what: string, done: number, total: number) => void;

const SUITE = 'suite:';
const BOARD = 'bench:';

export class BenchmarkBoard {
  constructor(private readonly store: KeyValueStore) {}

  /** Checks a suite and its files, then keeps it under its name. */
  async saveSuite(s: SuiteFiles): Promise<string[]> {
    suiteInputs(s, 1);
    await this.store.set(SUITE + s.name, s);
    return this.listSuites();
  }

  async listSuites(): Promise<string[]> {
    return (await this.store.keys()).filter((k) => k.startsWith(SUITE)).map((k) => k.slice(SUITE.length)).sort();
  }

  async getSuite(name: string): Promise<SuiteFiles> {
    const s = await this.store.get<SuiteFiles>(SUITE + name);
    if (!s) throw new Error(`no saved suite "${name}"`);
    return s;
  }

  async record(e: BoardEntry): Promise<void> {
    await this.store.set(`${BOARD}${e.model}\u0000${e.runId ?? ''}\u0000${e.task}`, e);
  }

  /** Every stored result of a model: rows for the base and each run (newest first), columns per task. */
  async leaderboard(model: string | null, runOrder: readonly string[]): Promise<Leaderboard> {
    const keys = (await this.store.keys()).filter((k) => k.startsWith(BOARD));
    const stored = await Promise.all(keys.map((k) => this.store.get<BoardEntry>(k)));
    const all = stored.filter((e): e is BoardEntry => !!e && (model === null || e.model === model));
    const tasks = new Map<string, Set<string>>();
    const rows = new Map<string | null, { runId: string | null; name: string; values: Record<string, Record<string, number | null>> }>();
    for (const e of all) {
      const m = tasks.get(e.task) ?? new Set<string>();
      Object.keys(e.metrics).forEach((k) => m.add(k));
      tasks.set(e.task, m);
      const row = rows.get(e.runId) ?? { runId: e.runId, name: e.runId === null ? `${e.model} (base)` : e.runName, values: {} };
      row.values[e.task] = e.metrics;
      rows.set(e.runId, row);
    }
    const rank = (id: string | null) => (id === null ? -1 : runOrder.includes(id) ? runOrder.indexOf(id) : runOrder.length);
    return {
      model,
      tasks: [...tasks].map(([name, m]) => ({ name, metrics: [...m] })),
      rows: [...rows.values()].sort((a, b) => rank(a.runId) - rank(b.runId)),
    };
  }
}

/** The suite's tasks with their data, checked (every named file present, every record valid). */
export function suiteInputs(s: SuiteFiles, batch: number): { name: string; tasks: ReturnType<typeof parseSuite>['tasks']; inputs: TaskInput[] } {
  const suite = parseSuite(s.suite, s.name);
  const text = (path: string) => {
    const t = s.files[path];
    if (t === undefined) throw new Error(`${s.name}: the file "${path}" it names was not provided`);
    return t;
  };
  const inputs = suite.tasks.map((t): TaskInput => ({
    kind: t.task, file: t.data, text: text(t.data), template: t.template, fields: t.fields,
    blocklist: t.blocklist ? text(t.blocklist) : undefined, maxNewTokens: t.maxNewTokens, batch,
  }));
  inputs.forEach(checkTaskData);
  return { name: suite.name, tasks: suite.tasks, inputs };
}

/**
 * Runs a suite on the base model and (with `runId`) on that run's adapter, records every result
 * for the leaderboard, and judges the gate. `attach(null)` must leave the session on the base.
 */
export async function runSuiteJob(
  session: Session, attach: (runId: string | null) => Promise<void>, board: BenchmarkBoard,
  req: SuiteRequest, names: { model: string; run: string }, onProgress?: SuiteProgress,
): Promise<SuiteReport> {
  const { name, tasks, inputs } = suiteInputs(req, 8);
  const measure = async (runId: string | null) => {
    await attach(runId);
    const out = [];
    for (const [i, input] of inputs.entries()) {
      const task = tasks[i]!;
      const r = await runTask(session, input, (d, n, what) => onProgress?.(`${task.name} (${runId === null ? 'base' : names.run}): ${what}`, d, n));
      await board.record({ model: names.model, runId, runName: runId === null ? 'base' : names.run, task: task.name, metrics: r.metrics, at: Date.now() });
      out.push(r.metrics);
    }
    return out;
  };
  const base = await measure(null);
  const tuned = req.runId === null ? null : await measure(req.runId);
  const rows = tasks.map((t, i) => judgeTask(t, base[i]![t.metric] ?? null, tuned ? tuned[i]![t.metric] ?? null : null));
  return { suite: name, runId: req.runId, rows, passed: rows.every((r) => r.passed) };
}
