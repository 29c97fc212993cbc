/** What the playground keeps about each answer so feedback on it can be stored. */
import type { RatedAnswer } from '../../worker/api.ts';

/** An id for one generated answer (ratings and edits of it refine one record). */
export function answerId(): string {
  return `ans-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The request's prompt as the feedback log keeps it: the chat messages, or the completion prompt. */
export function promptOf(req: { messages: { role: string; content: string }[] } | { prompt: string }): RatedAnswer['prompt'] {
  return 'messages' in req ? req.messages : req.prompt;
}
