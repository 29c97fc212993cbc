/**
 * The prompt format a dataset trained with, so the playground and the classroom ask a model the
 * way it learned: chat records through the chat template, Alpaca rows in the Alpaca prompt,
 * prompt/completion rows as the bare prompt, text as a continuation.
 */
import { alpacaPrompt } from '../../core/data/formats.ts';
import type { DatasetSummary } from '../../worker/api.ts';

export type PromptFormat = 'chat' | 'alpaca' | 'prompt' | 'text';

export function promptFormat(d: Pick<DatasetSummary, 'kinds' | 'columns' | 'options'> | null | undefined): PromptFormat {
  if (!d) return 'chat';
  const k = d.kinds;
  const most = (['chat', 'prompt', 'text'] as const).reduce((a, b) => ((k[b] ?? 0) > (k[a] ?? 0) ? b : a));
  if (most === 'prompt') return d.columns.includes('instruction') && d.options.alpacaAs !== 'chat' ? 'alpaca' : 'prompt';
  return most;
}

export const FORMAT_WORDS: Record<PromptFormat, string> = {
  chat: 'as chat messages, through the chat template',
  alpaca: 'in the Alpaca instruction format it trained with',
  prompt: 'as a bare prompt, as its prompt/completion data was',
  text: 'as text to continue, as its plain-text data was',
};

/** One user message as a generation request in that format (the chat format keeps the history). */
export function promptRequest(format: PromptFormat, text: string, history: readonly { role: string; content: string }[] = []):
  { messages: { role: string; content: string }[] } | { prompt: string } {
  if (format === 'chat') return { messages: [...history, { role: 'user', content: text }] };
  return { prompt: format === 'alpaca' ? alpacaPrompt(text) : text };
}
