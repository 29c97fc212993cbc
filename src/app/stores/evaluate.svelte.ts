/** Evaluation (base vs a run), side-by-side answers and the chat playground. */
import type { EvalReport, GeneratedToken, RatedAnswer, SamplingSettings } from '../../worker/api.ts';
import { promptRequest, type PromptFormat } from '../lib/prompt-format.ts';
import { api, callback, errorMessage } from '../worker-client.ts';
import { notices } from './notices.svelte.ts';
import { answerId, promptOf } from '../lib/feedback-answer.ts';

export type Split = 'validation' | 'train' | 'all';

export interface ChatTurn {
  readonly role: 'user' | 'assistant';
  readonly content: string;
  readonly tokens?: readonly GeneratedToken[];
  readonly stopReason?: string;
  /** Which adapter answered ("base" or the run's name). */
  readonly by?: string;
  /** What feedback on this answer records (stores/feedback.svelte.ts). */
  readonly answer?: RatedAnswer;
}

export interface SideBySide {
  readonly prompt: string;
  base: { text: string; tokens: GeneratedToken[]; done: boolean };
  tuned: { text: string; tokens: GeneratedToken[]; done: boolean };
}

class GpuTask {
  /** What the GPU is doing for evaluation or generation (one thing at a time). */
  label = $state<string | null>(null);
  done = $state(0);
  total = $state(0);
  /** Cancel was asked for (the Worker stops between examples). */
  cancelling = $state(false);

  async run<T>(label: string, fn: (progress: (done: number, total: number) => void) => Promise<T>, total = 0): Promise<T | undefined> {
    if (this.label) return undefined;
    this.label = label;
    this.done = 0;
    this.total = total;
    this.cancelling = false;
    let frame = 0;
    let latest: [number, number] = [0, total];
    const progress = (done: number, total: number) => {
      latest = [done, total];
      if (!frame) {
        frame = requestAnimationFrame(() => {
          frame = 0;
          [this.done, this.total] = latest;
        });
      }
    };
    try {
      return await fn(progress);
    } catch (e) {
      if (this.cancelling) notices.push('info', `${label}: cancelled`);
      else notices.push('error', `${label}: ${errorMessage(e)}`);
      return undefined;
    } finally {
      cancelAnimationFrame(frame);
      this.label = null;
      this.cancelling = false;
    }
  }

  async cancel(): Promise<void> {
    if (!this.label || this.cancelling) return;
    this.cancelling = true;
    await notices.attempt('Cancel', () => api.abortGeneration());
  }
}

export const gpuTask = new GpuTask();

/** What a pair of reports scored (shown with them; they are cleared when it changes). */
export interface Scored {
  readonly datasetId: string;
  readonly name: string;
  readonly version: number;
  readonly split: Split;
  /** The data the run trained and validated on (same dataset and version). */
  readonly own: boolean;
}

class EvaluateStore {
  split = $state<Split>('validation');
  maxExamples = $state(64);
  generate = $state(false);
  /** The fine-tuned run compared with the base model. */
  runId = $state<string | null>(null);
  /** The dataset to score: the run's own by default (EvalCard sets it when the run changes). */
  datasetId = $state<string | null>(null);
  base = $state.raw<EvalReport | null>(null);
  tuned = $state.raw<EvalReport | null>(null);
  scored = $state.raw<Scored | null>(null);

  async evaluate(target: Scored, which: 'base' | 'tuned' | 'both'): Promise<void> {
    const prev = this.scored;
    if (!prev || prev.datasetId !== target.datasetId || prev.version !== target.version || prev.split !== target.split) this.base = this.tuned = null;
    this.scored = target;
    // Up to maxExamples scored, and up to 20 of them answered when generating (as the Worker does).
    const expected = this.maxExamples + (this.generate ? Math.min(this.maxExamples, 20) : 0);
    const req = { datasetId: target.datasetId, split: target.split, generate: this.generate, maxExamples: this.maxExamples };
    if (which !== 'tuned') {
      const r = await gpuTask.run('Evaluating the base model', (p) => api.evaluate({ ...req, runId: null }, callback(p)), expected);
      if (r) this.base = r;
      else if (which === 'both') return;
    }
    if (which !== 'base' && this.runId) {
      const runId = this.runId;
      const r = await gpuTask.run('Evaluating the fine-tuned model', (p) => api.evaluate({ ...req, runId }, callback(p)), expected);
      if (r) this.tuned = r;
    }
  }
}

export const evaluation = new EvaluateStore();

export const DEFAULT_SAMPLING: SamplingSettings = { maxNewTokens: 64, greedy: true, temperature: 0.7, topK: 40, topP: 0.95, repetitionPenalty: 1.1 };

/** Streams one generation; `onToken` is called per token (already batched per frame by the caller). */
export async function streamGenerate(
  req: { messages?: { role: string; content: string }[]; prompt?: string; runId: string | null; sampling: SamplingSettings },
  onTokens: (tokens: GeneratedToken[]) => void,
) {
  let pending: GeneratedToken[] = [];
  let frame = 0;
  const flush = () => {
    frame = 0;
    const t = pending;
    pending = [];
    if (t.length) onTokens(t);
  };
  const result = await api.generate(req, callback((t: GeneratedToken) => {
    pending.push(t);
    if (!frame) frame = requestAnimationFrame(flush);
  }));
  cancelAnimationFrame(frame);
  flush();
  return result;
}

class CompareStore {
  prompts = $state('');
  rows = $state<SideBySide[]>([]);
  maxNewTokens = $state(48);
  /** The answer being generated now. */
  active = $state<{ row: number; side: 'base' | 'tuned' } | null>(null);

  async run(runId: string): Promise<void> {
    const prompts = this.prompts.split('\n').map((p) => p.trim()).filter(Boolean).slice(0, 8);
    if (!prompts.length) return;
    this.rows = prompts.map((prompt) => ({ prompt, base: { text: '', tokens: [], done: false }, tuned: { text: '', tokens: [], done: false } }));
    await gpuTask.run('Generating answers', async () => {
      for (const [i, prompt] of prompts.entries()) {
        for (const side of ['base', 'tuned'] as const) {
          const row = this.rows[i]!;
          this.active = { row: i, side };
          const r = await streamGenerate(
            {
              messages: [{ role: 'user', content: prompt }],
              runId: side === 'base' ? null : runId,
              sampling: { maxNewTokens: this.maxNewTokens, greedy: true },
            },
            (tokens) => {
              row[side].tokens.push(...tokens);
              row[side].text += tokens.map((t) => t.text).join('');
            },
          );
          row[side].tokens = [...r.tokens];
          row[side].text = r.text;
          row[side].done = true;
        }
      }
    });
    this.active = null;
  }
}

export const compare = new CompareStore();

class PlaygroundStore {
  /** The adapter: null is the base model. */
  runId = $state<string | null>(null);
  turns = $state<ChatTurn[]>([]);
  input = $state('');
  system = $state('');
  sampling = $state<SamplingSettings>({ ...DEFAULT_SAMPLING });
  streaming = $state<GeneratedToken[] | null>(null);
  generating = $state(false);

  /** Sends the message in the format the adapter trained with (chat keeps the history; the others are one turn). */
  async send(byName: string, format: PromptFormat = 'chat'): Promise<void> {
    const text = this.input.trim();
    if (!text || this.generating || gpuTask.label) return;
    this.input = '';
    const history = [
      ...(this.system.trim() ? [{ role: 'system', content: this.system.trim() }] : []),
      ...this.turns.map((t) => ({ role: t.role, content: t.content })),
    ];
    this.turns = [...this.turns, { role: 'user', content: text }];
    this.generating = true;
    this.streaming = [];
    const runId = this.runId;
    const req = promptRequest(format, text, history);
    const r = await gpuTask.run('Generating', () =>
      streamGenerate({ ...req, runId, sampling: { ...this.sampling } }, (tokens) => {
        this.streaming = [...(this.streaming ?? []), ...tokens];
      }),
    );
    this.generating = false;
    this.streaming = null;
    if (!r) return;
    const answer = { id: answerId(), prompt: promptOf(req), completion: r.text, adapter: runId };
    this.turns = [...this.turns, { role: 'assistant', content: r.text, tokens: r.tokens, stopReason: r.stopReason, by: byName, answer }];
  }

  async stop(): Promise<void> {
    await notices.attempt('Stop', () => api.abortGeneration());
  }

  clear(): void {
    this.turns = [];
  }
}

export const playground = new PlaygroundStore();
