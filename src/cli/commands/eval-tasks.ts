/**
 * `tabtune eval --task mc|grounded|safety` and `tabtune eval --suite FILE`: benchmark tasks on top of
 * the plain `eval` command (which measures perplexity of a dataset).
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../../core/errors.ts';
import { parseFieldMap, parseMcFile } from '../../core/eval/mc-records.ts';
import { runMultipleChoice } from '../../core/eval/multiple-choice.ts';
import type { Session } from '../../core/session.ts';
import { need, UsageError, type FlagSpec, type Parsed } from '../args.ts';
import { modelDir, openModel } from '../common.ts';
import { bar, type Output } from '../output.ts';

export const TASKS = ['mc'] as const;

export const TASK_FLAGS: readonly FlagSpec[] = [
  { name: 'task', kind: 'string', value: TASKS.join('|'), help: 'a benchmark task instead of perplexity: mc (multiple choice by log-likelihood)' },
  { name: 'template', kind: 'string', value: 'TEXT|chat', help: 'mc context format with {question} and any {field} (default "Question: {question}\\nAnswer:"); chat: the model\'s chat template' },
  { name: 'fields', kind: 'string', value: 'MAP', help: 'mc field names, e.g. question=ctx,choices=endings,answer=label (default: recognised)' },
];

/** The file's text; a missing or unreadable file is one line naming it. */
export async function readTextFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new InputError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** `\n` and `\t` typed on a command line mean a newline and a tab. */
export function unescapeFlag(s: string): string {
  return s.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
}

export function isTaskRun(p: Parsed): boolean {
  return p.task !== undefined;
}

export async function runTask(p: Parsed, out: Output): Promise<void> {
  const task = p.task as string;
  if (!(TASKS as readonly string[]).includes(task)) throw new UsageError(`--task must be one of ${TASKS.join(', ')}, got "${task}"`);
  const file = need<string>(p, 'data');
  // Inputs are read and checked before the GPU is touched.
  const records = parseMcFile(await readTextFile(file), file, p.fields ? parseFieldMap(p.fields as string) : {});
  const session = await openModel(out, modelDir(p.model as string | undefined), p.adapter as string | undefined, { int8: p.int8 === true });
  try {
    const r = await multipleChoice(session, records, file, p, out);
    out.say(`mc: acc ${r.acc.toFixed(4)}  acc_norm ${r.accNorm.toFixed(4)}  over ${r.n} questions`);
  } finally {
    session.dispose();
  }
}

async function multipleChoice(session: Session, records: ReturnType<typeof parseMcFile>, file: string, p: Parsed, out: Output) {
  const template = p.template === undefined ? undefined : unescapeFlag(p.template as string);
  const { questions, summary } = await runMultipleChoice(session.requireModel(), session.requireTokenizer(), records, {
    template, file, batch: p.batch as number,
    onProgress: (done, total) => out.progress(`mc ${bar(done, total)} ${done}/${total} forward passes`),
  });
  out.clearProgress();
  for (const q of questions) out.record({ index: q.index, choice_logprobs: q.choiceLogprobs, pred: q.pred, pred_norm: q.predNorm, answer: q.answer });
  out.record({ task: 'mc', n: summary.n, acc: summary.acc, acc_norm: summary.accNorm });
  return summary;
}
