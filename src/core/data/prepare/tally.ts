/** Collects a rule's counts and its first few examples while a step runs. */
import type { RecordSource } from '../records.ts';
import type { ChangeExample, RuleReport } from './types.ts';

/** Longest text kept in an example; reports stay small and readable. */
export const EXAMPLE_CHARS = 160;

export function shorten(text: string, max = EXAMPLE_CHARS): string {
  const cps = Array.from(text);
  return cps.length <= max ? text : `${cps.slice(0, max - 1).join('')}…`;
}

export class RuleTally {
  private changedCount = 0;
  private removedCount = 0;
  private readonly examples: ChangeExample[] = [];

  constructor(
    readonly rule: string,
    private readonly maxExamples: number,
  ) {}

  changed(source: RecordSource, before: string, after: string, note?: string): void {
    this.changedCount++;
    this.keep({ source, before: shorten(before), after: shorten(after), ...(note ? { note } : {}) });
  }

  removed(source: RecordSource, before: string, note?: string): void {
    this.removedCount++;
    this.keep({ source, before: shorten(before), ...(note ? { note } : {}) });
  }

  get total(): number {
    return this.changedCount + this.removedCount;
  }

  report(): RuleReport {
    return { rule: this.rule, changed: this.changedCount, removed: this.removedCount, examples: [...this.examples] };
  }

  private keep(example: ChangeExample): void {
    if (this.examples.length < this.maxExamples) this.examples.push(example);
  }
}
