import type { Session } from '../session.ts';

/** Turn-end tokens of common chat templates; generation also stops at the model's eos. */
const TURN_ENDS = ['<|im_end|>', '<|eot_id|>', '<|end|>', '<|endoftext|>'];

export interface RespondOptions {
  readonly maxNewTokens: number;
  /** Plain prompts end the answer at the first line break (the next "Question:" would follow). */
  readonly firstLine: boolean;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Greedy answers to prompts (text in, text out) with whatever adapter the session has attached. */
export async function respond(session: Session, prompts: readonly string[], o: RespondOptions): Promise<string[]> {
  const tok = session.requireTokenizer();
  const stopTokens = TURN_ENDS.map((t) => tok.tokenToId(t)).filter((x): x is number => x !== undefined);
  const limit = session.requireModel().cfg.maxPositions;
  const out: string[] = [];
  for (const [i, prompt] of prompts.entries()) {
    const ids = tok.encode(prompt);
    const room = Math.min(o.maxNewTokens, limit - ids.length);
    if (room < 1) throw new RangeError(`prompt ${i + 1} takes ${ids.length} tokens, leaving no room in the model's ${limit} positions`);
    const g = await session.generate(ids, { maxNewTokens: room, greedy: true, stopTokens });
    const text = g.text ?? '';
    out.push((o.firstLine ? text.split('\n')[0]! : text).trim());
    o.onProgress?.(i + 1, prompts.length);
  }
  return out;
}
