/**
 * The one generation path of every host (the Worker's playground, `tabtune generate`): a prompt
 * (text, chat messages or token ids) → token ids → KV-cached decoding that stops at the model's
 * own stop tokens → text streamed one whole character at a time.
 */
import type { ChatMessage } from '../formats/chat-template.ts';
import { TextStream } from '../formats/tokenizer/text-stream.ts';
import type { GenerateOptions } from '../model/generate.ts';
import type { Session } from '../session.ts';

export type Prompt =
  | { readonly ids: readonly number[] }
  | { readonly text: string }
  /** Rendered with the model's chat template and a generation prompt. */
  | { readonly messages: readonly ChatMessage[] };

export interface StreamedToken {
  readonly id: number;
  /** The text this token adds ('' while a character spans several tokens, or without a tokenizer). */
  readonly text: string;
  readonly logprob: number;
  readonly entropy: number;
}

export interface GenerateJobOptions extends Omit<GenerateOptions, 'onToken'> {
  readonly onToken?: (t: StreamedToken) => void;
}

export interface GenerateJobResult {
  /** Every generated id, the stop token included. */
  readonly ids: readonly number[];
  /** The answer's text (special tokens skipped); null without a tokenizer. */
  readonly text: string | null;
  /** The answer's tokens, without the stop token that ended it. */
  readonly tokens: readonly StreamedToken[];
  readonly stopReason: 'stop-token' | 'length' | 'aborted';
  readonly meanLogprob: number | null;
  readonly meanEntropy: number | null;
}

/** Token ids of a prompt, encoded as transformers would (special tokens for text, the chat template for messages). */
export function promptIds(session: Session, p: Prompt): number[] {
  if ('ids' in p) return [...p.ids];
  const tok = session.requireTokenizer();
  if ('messages' in p) return tok.encode(tok.applyChatTemplate([...p.messages], { addGenerationPrompt: true }));
  return tok.encode(p.text, { addSpecialTokens: true });
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

export async function generateText(session: Session, prompt: Prompt, o: GenerateJobOptions): Promise<GenerateJobResult> {
  const ids = promptIds(session, prompt);
  const tok = session.tokenizer;
  const stream = tok ? new TextStream(tok) : null;
  const ends = new Set([...(o.ignoreEos ? [] : session.stopTokens), ...(o.stopTokens ?? [])]);
  const tokens: StreamedToken[] = [];
  const g = await session.generate(ids, {
    ...o,
    onToken: (id, logprob, entropy) => {
      if (ends.has(id)) return;
      const t = { id, text: stream ? stream.push(id) : '', logprob, entropy };
      tokens.push(t);
      o.onToken?.(t);
    },
  });
  return {
    ids: g.ids, text: tok ? tok.decode(tokens.map((t) => t.id), { skipSpecialTokens: true }) : null, tokens, stopReason: g.stopReason,
    meanLogprob: mean(tokens.map((t) => t.logprob)), meanEntropy: mean(tokens.map((t) => t.entropy)),
  };
}
