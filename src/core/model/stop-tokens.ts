/**
 * The token ids that end a generated answer, read from the model's own files (never a list of
 * known marker strings): config.json's and generation_config.json's eos ids, the tokenizer's EOS
 * token, and the special token the chat template writes right after an assistant's content
 * (`<|im_end|>`, `<|eot_id|>`, `</s>` …), which is how transformers' chat pipelines stop.
 */
import type { GenerationConfig } from '../formats/generation-config.ts';
import type { Tokenizer } from '../formats/tokenizer/tokenizer.ts';
import type { ModelConfig } from './config.ts';

const PROBE = '\uE000tabtune-stop\uE001';

/** The special token a chat template closes an assistant turn with, if it writes one. */
export function endOfTurnToken(tok: Tokenizer): number | undefined {
  if (tok.chatTemplate === undefined) return undefined;
  let text: string;
  try {
    text = tok.applyChatTemplate([{ role: 'user', content: 'hi' }, { role: 'assistant', content: PROBE }]);
  } catch {
    return undefined;
  }
  const at = text.indexOf(PROBE);
  if (at < 0) return undefined;
  const after = text.slice(at + PROBE.length).trimStart();
  const specials = tok.addedTokens.filter((t) => t.special && t.content).sort((a, b) => b.content.length - a.content.length);
  return specials.find((t) => after.startsWith(t.content))?.id;
}

export function stopTokenIds(cfg: ModelConfig, tok: Tokenizer | null, generation: GenerationConfig | null): number[] {
  const out = new Set<number>([...cfg.eosTokenIds, ...(generation?.eosTokenIds ?? [])]);
  const eos = tok?.specialTokens.eos;
  if (eos) {
    const id = tok.tokenToId(eos.content);
    if (id !== undefined) out.add(id);
  }
  const turn = tok ? endOfTurnToken(tok) : undefined;
  if (turn !== undefined) out.add(turn);
  return [...out].filter((id) => id < cfg.vocabSize);
}

/** The id that fills rows and batches: config's pad id, generation_config's, else the first EOS id. */
export function padTokenId(cfg: ModelConfig, generation: GenerationConfig | null = null): number {
  return cfg.padTokenId ?? generation?.padTokenId ?? cfg.eosTokenIds[0] ?? generation?.eosTokenIds[0] ?? 0;
}
