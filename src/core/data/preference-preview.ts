/**
 * What training sees of a preference record: each side (chosen, rejected, or a KTO completion)
 * as the model's tokens after templating, cut into runs of trained and untrained tokens, so a
 * preview can mark exactly the tokens whose log-probs the loss compares.
 */
import type { Tokenizer } from '../formats/tokenizer/tokenizer.ts';
import { encodeCompletion, truncateCompletion, type PreferencePair, type UnpairedExample } from './preference.ts';
import { IGNORE } from './tokenize.ts';

export interface Segment {
  readonly text: string;
  readonly trained: boolean;
}

export interface PreviewSide {
  readonly segments: Segment[];
  readonly tokens: number;
  readonly trainedTokens: number;
}

export type SidePreview = { readonly ok: true; readonly side: PreviewSide } | { readonly ok: false; readonly reason: string };

export interface RecordPreview {
  readonly line: number;
  /** chosen/rejected for a pair; completion (with its label) for a KTO example. */
  readonly sides: Readonly<Record<string, SidePreview>>;
  readonly label?: boolean;
}

/** Runs of equally-trained tokens, each decoded as one piece (a character split over tokens stays whole). */
function segments(ids: readonly number[], labels: readonly number[], tok: Tokenizer): Segment[] {
  const out: Segment[] = [];
  let start = 0;
  for (let k = 1; k <= ids.length; k++) {
    if (k < ids.length && (labels[k] !== IGNORE) === (labels[start] !== IGNORE)) continue;
    out.push({ text: tok.decode(ids.slice(start, k)), trained: labels[start] !== IGNORE });
    start = k;
  }
  return out;
}

function side(prompt: PreferencePair['prompt'], completion: PreferencePair['chosen'], tok: Tokenizer, maxLength: number): SidePreview {
  const enc = encodeCompletion(prompt, completion, tok);
  if (!enc.ok) return enc;
  const cut = truncateCompletion(enc.value, maxLength);
  if (!cut) return { ok: false, reason: `the prompt leaves no completion token within the ${maxLength}-token limit` };
  return {
    ok: true,
    side: { segments: segments(cut.inputIds, cut.labels, tok), tokens: cut.inputIds.length, trainedTokens: cut.labels.filter((l) => l !== IGNORE).length },
  };
}

export function previewRecord(e: PreferencePair | UnpairedExample, tok: Tokenizer, maxLength: number): RecordPreview {
  if ('chosen' in e) {
    return { line: e.source.line, sides: { chosen: side(e.prompt, e.chosen, tok, maxLength), rejected: side(e.prompt, e.rejected, tok, maxLength) } };
  }
  return { line: e.source.line, sides: { completion: side(e.prompt, e.completion, tok, maxLength) }, label: e.label };
}
