/**
 * Dataset records in the formats users bring (TRL / Axolotl conventions), normalised into one
 * union. Import (parsers) produces these; preparation (cleaning, de-duplication...) transforms
 * them; tokenization (templating + loss masks) consumes them.
 */

/** A chat turn (extra fields, such as tool calls, pass through to the chat template). */
export type { ChatMessage } from '../formats/chat-template.ts';
import type { ChatMessage } from '../formats/chat-template.ts';

export type DataRecord =
  /** Raw text for continued pre-training: every token trains. */
  | { readonly kind: 'text'; readonly text: string }
  /** Prompt + completion (also Alpaca instruction/input/output): only the completion trains by default. */
  | { readonly kind: 'prompt'; readonly prompt: string; readonly completion: string }
  /** Chat messages (role/content; ShareGPT from/value is mapped here): only assistant turns train by default. */
  | { readonly kind: 'chat'; readonly messages: readonly ChatMessage[] }
  /** Pre-tokenized ids; labels -100 are ignored, absent labels mean labels = input_ids. */
  | { readonly kind: 'tokens'; readonly inputIds: readonly number[]; readonly labels?: readonly number[] };

export type RecordKind = DataRecord['kind'];

/** Where a record came from, so every report can name the file and line. */
export interface RecordSource {
  readonly file: string;
  /** 1-based line where the record starts (JSONL, CSV, text, and JSON arrays: the line of the item). */
  readonly line: number;
}

export interface DatasetRecord {
  readonly record: DataRecord;
  readonly source: RecordSource;
  /** Other fields of the row, kept for balancing and review (e.g. a "category" column). */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** Set on records made by augmentation or synthesis, until a person accepts them. */
  readonly generated?: { readonly method: string; readonly from?: RecordSource; readonly accepted?: boolean };
}

/** A record that could not be imported, with the reason. Nothing is dropped silently. */
export interface RecordProblem {
  readonly source: RecordSource;
  readonly reason: string;
}
