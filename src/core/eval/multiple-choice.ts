/**
 * Multiple-choice benchmarks scored by log-likelihood, as lm-evaluation-harness scores them: each
 * choice is a continuation of the context; its score is the sum of its tokens' log-probabilities.
 * `acc` takes the best score, `acc_norm` the best score per character of the continuation.
 */
import { InputError } from '../errors.ts';
import type { Transformer } from '../model/transformer.ts';
import type { ScoredSequence } from './likelihood.ts';
import type { McRecord } from './mc-records.ts';
import { scorePacked } from './packed-score.ts';

export const DEFAULT_MC_TEMPLATE = 'Question: {question}\nAnswer:';
/** `--template chat`: the question as the user turn of the model's chat template. */
export const CHAT_TEMPLATE = 'chat';

interface TextEncoder {
  encode(text: string): number[];
  applyChatTemplate?(messages: { role: string; content: string }[], o: { addGenerationPrompt?: boolean }): string;
}

/** How a record becomes a context, and what goes between context and choice. */
export interface McPrompt {
  readonly context: (r: McRecord) => string;
  /** " " as the harness's target_delimiter; nothing after a chat template's assistant header. */
  readonly delimiter: string;
}

export function mcPrompt(tok: TextEncoder, template = DEFAULT_MC_TEMPLATE, file = 'template'): McPrompt {
  if (template !== CHAT_TEMPLATE) return { context: (r) => renderContext(template, r, file), delimiter: ' ' };
  if (!tok.applyChatTemplate) throw new InputError(file, '--template chat needs a tokenizer with a chat template');
  const chat = tok.applyChatTemplate.bind(tok);
  return { context: (r) => chat([{ role: 'user', content: r.question }], { addGenerationPrompt: true }), delimiter: '' };
}

export interface McQuestionResult {
  readonly index: number;
  readonly choiceLogprobs: readonly number[];
  readonly pred: number;
  readonly predNorm: number;
  readonly answer: number;
}

export interface McSummary {
  readonly n: number;
  readonly acc: number;
  readonly accNorm: number;
}

/** The context of a record: `{question}` and any `{field}` of the record filled in. */
export function renderContext(template: string, r: McRecord, file = 'template'): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = name === 'question' ? r.question : r.fields[name];
    if (v === undefined) throw new InputError(file, `the template names {${name}}, which the record has no field for`, `line ${r.line}`);
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
}

/**
 * The harness's split (`_encode_pair`): trailing spaces of the context move to the continuation;
 * the continuation's tokens are those of encode(context + continuation) after as many tokens as
 * encode(context) has, and the model reads encode(context) followed by them.
 */
export function encodePair(tok: TextEncoder, context: string, continuation: string): { context: number[]; continuation: number[] } {
  const spaces = context.length - context.replace(/\s+$/, '').length;
  if (spaces > 0) {
    continuation = context.slice(context.length - spaces) + continuation;
    context = context.slice(0, context.length - spaces);
  }
  const whole = tok.encode(context + continuation);
  const ctx = tok.encode(context);
  return { context: ctx, continuation: whole.slice(ctx.length) };
}

/** One scored sequence per choice, in question order. */
export function mcRequests(tok: TextEncoder, records: readonly McRecord[], o: { template?: string; maxPositions: number; file?: string }): ScoredSequence[] {
  const prompt = mcPrompt(tok, o.template, o.file);
  const seqs: ScoredSequence[] = [];
  for (const r of records) {
    const context = prompt.context(r);
    if (context.replace(/\s+$/, '') === '') {
      throw new InputError(o.file ?? 'template', 'the context is empty (a question needs text before its answer)', `line ${r.line}`);
    }
    r.choices.forEach((choice, k) => {
      const pair = encodePair(tok, context, prompt.delimiter + choice);
      const n = pair.context.length + pair.continuation.length;
      if (n > o.maxPositions) {
        const why = `question and choice ${k} take ${n} tokens, more than the model's ${o.maxPositions} positions`;
        throw new InputError(o.file ?? 'data', why, `line ${r.line}`);
      }
      seqs.push({ inputIds: [...pair.context, ...pair.continuation], labels: [...pair.context.map(() => -100), ...pair.continuation] });
    });
  }
  return seqs;
}

/** The first index of the largest value (ties go to the earlier choice, as numpy's argmax). */
export function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

/** acc and acc_norm of one question from its choices' log-likelihoods. */
export function judgeQuestion(index: number, r: McRecord, logprobs: readonly number[], delimiter = ' '): McQuestionResult {
  // acc_norm divides by the continuation's length in characters (UTF-16 code units of " " + choice).
  const norm = logprobs.map((lp, k) => lp / Math.max(1, r.choices[k]!.length + delimiter.length));
  return { index, choiceLogprobs: logprobs, pred: argmax(logprobs), predNorm: argmax(norm), answer: r.answer };
}

export function summarize(results: readonly McQuestionResult[]): McSummary {
  const n = results.length;
  const rate = (f: (q: McQuestionResult) => boolean) => (n ? results.filter(f).length / n : NaN);
  return { n, acc: rate((q) => q.pred === q.answer), accNorm: rate((q) => q.predNorm === q.answer) };
}

/** Scores every choice of every question, all packed together into shared forward passes. */
export async function runMultipleChoice(
  model: Transformer, tok: TextEncoder, records: readonly McRecord[],
  o: { template?: string; file?: string; batch?: number; rowTokens?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ questions: McQuestionResult[]; summary: McSummary }> {
  const seqs = mcRequests(tok, records, { template: o.template, maxPositions: model.cfg.maxPositions, file: o.file });
  const nll = await scorePacked(model, seqs, { batch: o.batch, rowTokens: o.rowTokens, onProgress: o.onProgress });
  let at = 0;
  const questions = records.map((r, i) => {
    const lps = r.choices.map(() => -nll[at++]!);
    return judgeQuestion(i, r, lps, o.template === CHAT_TEMPLATE ? '' : ' ');
  });
  return { questions, summary: summarize(questions) };
}
