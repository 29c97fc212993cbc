/**
 * Streaming decode (transformers' TextStreamer): token ids arrive one at a time; each call returns
 * the text they add. A character split over several byte-level tokens is held back (the decoded
 * string ends in U+FFFD) until its last token arrives, so a stream never shows half a character.
 */
import type { Tokenizer } from './tokenizer.ts';

export class TextStream {
  private readonly ids: number[] = [];
  private shown = '';

  constructor(
    private readonly tok: Tokenizer,
    private readonly o: { readonly skipSpecialTokens: boolean } = { skipSpecialTokens: true },
  ) {}

  /** Adds a token; returns the new text ('' while a character is incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const full = this.tok.decode(this.ids, { skipSpecialTokens: this.o.skipSpecialTokens });
    if (full.endsWith('\uFFFD')) return '';
    const delta = full.slice(this.shown.length);
    this.shown = full;
    return delta;
  }

  /** Everything decoded so far. */
  get text(): string {
    return this.shown;
  }
}
