/**
 * Shapes shared by every preparation step. A step is a pure function from records to records
 * plus a report of what it changed; the report names each change's file and line so a person
 * can check it against their data.
 */
import type { DatasetRecord, RecordSource } from '../records.ts';

/** Counts the tokens of a text with the model's tokenizer; passed in so this code needs no model. */
export type CountTokens = (text: string) => number;

/** One change a rule made, kept as an example for the report. */
export interface ChangeExample {
  readonly source: RecordSource;
  /** The text before the change (shortened), absent for removals where it adds nothing. */
  readonly before?: string;
  /** The text after the change (shortened); absent when the record was removed. */
  readonly after?: string;
  /** Why, in words (e.g. "2 user turns in a row merged"). */
  readonly note?: string;
}

/** What one rule did: how many records it changed or removed, and a few examples. */
export interface RuleReport {
  readonly rule: string;
  readonly changed: number;
  readonly removed: number;
  readonly examples: readonly ChangeExample[];
}

/** What one step did, with its record count before and after. */
export interface StepReport {
  readonly step: string;
  readonly before: number;
  readonly after: number;
  readonly rules: readonly RuleReport[];
}

export interface StepResult {
  readonly records: DatasetRecord[];
  readonly report: StepReport;
}
