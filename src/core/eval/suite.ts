/**
 * Evaluation suites: named tasks with thresholds, run on the base model and on the fine-tuned one,
 * and the gate that says whether the fine-tuned model may ship. Format in docs/evaluation.md.
 */
import { InputError } from '../errors.ts';
import type { McFieldMap } from './mc-records.ts';
import { METRICS, TASK_KINDS, type TaskKind } from './tasks.ts';

export interface SuiteTask {
  readonly name: string;
  readonly task: TaskKind;
  /** Data file, relative to the suite file. */
  readonly data: string;
  readonly metric: string;
  /** The fine-tuned value must be at least `min` / at most `max`. */
  readonly min?: number;
  readonly max?: number;
  /** Largest allowed worsening against the base, in the metric's units (0.02 = 2 points of a rate). */
  readonly maxDrop?: number;
  /** A general benchmark: a worsening over 2 points is forgetting (and fails unless max_drop says otherwise). */
  readonly general: boolean;
  readonly template?: string;
  readonly fields?: McFieldMap;
  readonly blocklist?: string;
  readonly maxNewTokens?: number;
}

export interface Suite {
  readonly name: string;
  readonly tasks: readonly SuiteTask[];
}

/** Points of forgetting on a general benchmark (a rate 0.02 lower). */
export const FORGETTING_DROP = 0.02;

const KEYS = new Set(['name', 'task', 'data', 'metric', 'min', 'max', 'max_drop', 'general', 'template', 'fields', 'blocklist', 'max_new_tokens']);

export function parseSuite(text: string, file: string): Suite {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InputError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new InputError(file, 'expected a JSON object with "name" and "tasks"');
  const o = v as Record<string, unknown>;
  if (!Array.isArray(o.tasks) || o.tasks.length === 0) throw new InputError(file, '"tasks" should be a non-empty list');
  const names = new Set<string>();
  const tasks = o.tasks.map((t, i): SuiteTask => {
    const where = `tasks[${i}]`;
    const fail = (reason: string) => new InputError(file, reason, where);
    if (!t || typeof t !== 'object' || Array.isArray(t)) throw fail('expected an object');
    const r = t as Record<string, unknown>;
    const unknown = Object.keys(r).find((k) => !KEYS.has(k));
    if (unknown) throw fail(`unknown key "${unknown}" (known: ${[...KEYS].join(', ')})`);
    if (typeof r.name !== 'string' || !r.name.trim()) throw fail('"name" should be a non-empty string');
    if (names.has(r.name)) throw fail(`the name "${r.name}" is used twice`);
    names.add(r.name);
    if (!(TASK_KINDS as readonly unknown[]).includes(r.task)) throw fail(`"task" should be one of ${TASK_KINDS.join(', ')}`);
    const kind = r.task as TaskKind;
    if (typeof r.data !== 'string' || !r.data) throw fail('"data" should be a file path');
    const metric = r.metric ?? Object.keys(METRICS[kind])[0];
    if (typeof metric !== 'string' || !(metric in METRICS[kind])) {
      throw fail(`"metric" of a ${kind} task should be one of ${Object.keys(METRICS[kind]).join(', ')}`);
    }
    const num = (k: string, lo = -Infinity) => {
      if (r[k] === undefined) return undefined;
      const v = r[k];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < lo) throw fail(`"${k}" should be a number${lo > -Infinity ? ` ≥ ${lo}` : ''}`);
      return r[k] as number;
    };
    const str = (k: string) => {
      if (r[k] !== undefined && typeof r[k] !== 'string') throw fail(`"${k}" should be a string`);
      return r[k] as string | undefined;
    };
    if (r.general !== undefined && typeof r.general !== 'boolean') throw fail('"general" should be true or false');
    if (r.fields !== undefined && (typeof r.fields !== 'object' || r.fields === null || Array.isArray(r.fields))) throw fail('"fields" should be an object');
    const maxNew = num('max_new_tokens', 1);
    return {
      name: r.name, task: kind, data: r.data, metric, min: num('min'), max: num('max'), maxDrop: num('max_drop', 0), general: r.general === true,
      template: str('template'), fields: r.fields as McFieldMap | undefined, blocklist: str('blocklist'), maxNewTokens: maxNew,
    };
  });
  return { name: typeof o.name === 'string' && o.name ? o.name : file, tasks };
}

export interface GateRow {
  readonly name: string;
  readonly task: TaskKind;
  readonly metric: string;
  readonly base: number | null;
  /** The fine-tuned value; null when only the base was run. */
  readonly tuned: number | null;
  /** tuned − base. */
  readonly delta: number | null;
  /** Worse than the base by more than 2 points (or the task's max_drop). */
  readonly regression: boolean;
  /** A regression on a general benchmark. */
  readonly forgetting: boolean;
  readonly passed: boolean;
  readonly reasons: readonly string[];
}

const fmt = (x: number) => Number(x.toFixed(4)).toString();

/** The gate's verdict for one task. */
export function judgeTask(t: SuiteTask, base: number | null, tuned: number | null): GateRow {
  const higherBetter = METRICS[t.task][t.metric] ?? true;
  const value = tuned ?? base;
  const reasons: string[] = [];
  if (value === null || !Number.isFinite(value)) reasons.push(`${t.metric} could not be measured`);
  else {
    if (t.min !== undefined && value < t.min) reasons.push(`${t.metric} ${fmt(value)} is below the minimum ${t.min}`);
    if (t.max !== undefined && value > t.max) reasons.push(`${t.metric} ${fmt(value)} is above the maximum ${t.max}`);
  }
  const delta = tuned !== null && base !== null ? tuned - base : null;
  const worse = delta === null ? 0 : higherBetter ? -delta : delta;
  const allowed = t.maxDrop ?? FORGETTING_DROP;
  const regression = worse > allowed + 1e-12;
  if (regression && (t.maxDrop !== undefined || t.general)) {
    reasons.push(`${t.metric} is ${fmt(worse)} worse than the base (${fmt(base!)} → ${fmt(tuned!)}), more than ${allowed}${t.general ? ': forgetting' : ''}`);
  }
  const forgetting = regression && t.general;
  return { name: t.name, task: t.task, metric: t.metric, base, tuned, delta, regression, forgetting, passed: reasons.length === 0, reasons };
}
