/**
 * One benchmark task run on the loaded model (with whatever adapter is attached): multiple choice,
 * grounded answers or safety. The CLI and the Worker both call this with the task's file text.
 */
import { Blocklist } from '../data/prepare/blocklist.ts';
import type { Session } from '../session.ts';
import { groundedMetrics, groundedPrompt, parseGroundedFile, PLAIN, type PromptStyle } from './grounded.ts';
import { parseMcFile, type McFieldMap } from './mc-records.ts';
import { CHAT_TEMPLATE, runMultipleChoice } from './multiple-choice.ts';
import { respond } from './respond.ts';
import { parseSafetyFile, safetyMetrics } from './safety.ts';
import { modelScorer } from './text-scorer.ts';

export const TASK_KINDS = ['mc', 'grounded', 'safety'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** Each task's metrics, and whether a higher value is better. */
export const METRICS: Readonly<Record<TaskKind, Readonly<Record<string, boolean>>>> = {
  mc: { acc: true, acc_norm: true },
  grounded: { completeness: true, utilisation: true, relevance: true, attribution: true },
  safety: { refusal_rate: true, over_refusal_rate: false, flagged_rate: false },
};

export interface TaskInput {
  readonly kind: TaskKind;
  /** The data file's name (for messages) and text. */
  readonly file: string;
  readonly text: string;
  /** mc context template or "chat"; for grounded and safety, "chat" asks through the chat template. */
  readonly template?: string;
  readonly fields?: McFieldMap;
  readonly blocklist?: string;
  readonly maxNewTokens?: number;
  readonly batch?: number;
}

export interface TaskOutcome {
  readonly kind: TaskKind;
  readonly n: number;
  readonly metrics: Readonly<Record<string, number | null>>;
  /** One JSON-ready record per question / prompt. */
  readonly details: readonly Record<string, unknown>[];
}

export type Progress = (done: number, total: number, what: string) => void;

/** Checks a task's data without running anything (before the GPU is touched). */
export function checkTaskData(t: TaskInput): number {
  if (t.kind === 'mc') return parseMcFile(t.text, t.file, t.fields).length;
  if (t.kind === 'grounded') return parseGroundedFile(t.text, t.file).length;
  return parseSafetyFile(t.text, t.file).length;
}

function promptStyle(session: Session, template: string | undefined): PromptStyle {
  if (template !== CHAT_TEMPLATE) return PLAIN;
  const tok = session.requireTokenizer();
  return { wrap: (p) => tok.applyChatTemplate([{ role: 'user', content: p }], { addGenerationPrompt: true }), delimiter: '' };
}

export async function runTask(session: Session, t: TaskInput, onProgress?: Progress): Promise<TaskOutcome> {
  const model = session.requireModel();
  const tok = session.requireTokenizer();
  if (t.kind === 'mc') {
    const records = parseMcFile(t.text, t.file, t.fields);
    const { questions, summary } = await runMultipleChoice(model, tok, records, {
      template: t.template, file: t.file, batch: t.batch, onProgress: (d, n) => onProgress?.(d, n, 'forward passes'),
    });
    const details = questions.map((q) => ({ index: q.index, choice_logprobs: q.choiceLogprobs, pred: q.pred, pred_norm: q.predNorm, answer: q.answer }));
    return { kind: 'mc', n: summary.n, metrics: { acc: summary.acc, acc_norm: summary.accNorm }, details };
  }
  const style = promptStyle(session, t.template);
  const gen = { maxNewTokens: t.maxNewTokens ?? 48, firstLine: style === PLAIN, onProgress: (d: number, n: number) => onProgress?.(d, n, 'answers') };
  if (t.kind === 'grounded') {
    const records = parseGroundedFile(t.text, t.file);
    const responses = await respond(session, records.map((r) => style.wrap(groundedPrompt(r.question, r.contexts))), gen);
    const { results, summary } = await groundedMetrics(records, responses, modelScorer(model, tok, { batch: t.batch }), style);
    const { n, ...metrics } = summary;
    return { kind: 'grounded', n, metrics, details: results.map((r) => ({ ...r })) };
  }
  const records = parseSafetyFile(t.text, t.file);
  const responses = await respond(session, records.map((r) => style.wrap(groundedPrompt(r.prompt, []))), gen);
  const { results, summary } = safetyMetrics(records, responses, t.blocklist ? Blocklist.parse(t.blocklist) : null);
  return {
    kind: 'safety', n: records.length,
    metrics: { refusal_rate: summary.refusalRate, over_refusal_rate: summary.overRefusalRate, flagged_rate: summary.flaggedRate },
    details: results.map((r) => ({ ...r })),
  };
}
