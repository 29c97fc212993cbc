/**
 * Documents → token windows for continued pre-training. Each document is tokenized with the
 * tokenizer's own specials (a BOS where its post-processor adds one) and ends with EOS, so the
 * model learns where a document stops. A document longer than the row is cut into windows of
 * `seq` tokens that start every `seq - overlap` tokens; a later window's first `overlap` tokens
 * are context only (not scored again). With overlap 0 (the default, as transformers' run_clm
 * group_texts) a window's first token has no context and is not a target. Windows never cross a
 * document: short ones are packed into rows with attention restarted per document.
 */
import type { Tokens } from './packing.ts';
import type { Document } from './documents.ts';

const IGNORE = -100;

export interface WindowOptions {
  /** Tokens per window: the run's row length. */
  readonly seq: number;
  /** Tokens a window shares with the one before (context, not scored again); 0 ≤ overlap < seq. */
  readonly overlap: number;
  readonly eosId: number;
}

export interface DocumentWindows {
  readonly windows: Tokens[];
  /** Tokens of every document (EOS included) and the targets the windows score. */
  readonly tokens: number;
  readonly targets: number;
}

/** One document's token ids (specials included) cut into windows. */
export function windowsOf(ids: readonly number[], o: WindowOptions): Tokens[] {
  if (!Number.isInteger(o.seq) || o.seq < 2) throw new RangeError(`the window length must be at least 2 tokens, got ${o.seq}`);
  if (!Number.isInteger(o.overlap) || o.overlap < 0 || o.overlap >= o.seq) {
    throw new RangeError(`overlap must be a whole number of tokens in [0, ${o.seq}), got ${o.overlap}`);
  }
  const stride = o.seq - o.overlap;
  const out: Tokens[] = [];
  for (let start = 0; ; start += stride) {
    const inputIds = ids.slice(start, start + o.seq);
    const labels = inputIds.map((id, k) => (start > 0 && k < o.overlap ? IGNORE : id));
    out.push({ inputIds, labels });
    if (start + o.seq >= ids.length) return out;
  }
}

/** Every document tokenized (text → ids, EOS at the end) and cut into windows. */
export function documentWindows(
  docs: readonly Document[], tok: { encode(text: string, o?: { addSpecialTokens?: boolean }): number[] }, o: WindowOptions,
): DocumentWindows {
  const windows: Tokens[] = [];
  let tokens = 0;
  for (const d of docs) {
    const ids = tok.encode(d.text, { addSpecialTokens: true });
    if (ids[ids.length - 1] !== o.eosId) ids.push(o.eosId);
    tokens += ids.length;
    windows.push(...windowsOf(ids, o));
  }
  // A window's first token is never a target (packing starts attention there).
  const targets = windows.reduce((n, w) => n + w.labels.filter((l, k) => k > 0 && l !== IGNORE).length, 0);
  return { windows, tokens, targets };
}
