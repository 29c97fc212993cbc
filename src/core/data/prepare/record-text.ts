/**
 * Reading and rewriting the text inside a record, whatever its kind, without mutating it.
 * Token records have no text: text rules pass them through unchanged.
 */
import type { ChatMessage, DataRecord, DatasetRecord } from '../records.ts';

export type TextField = 'text' | 'prompt' | 'completion' | 'content';

/** A text inside a record with where it is, e.g. `messages[2].content`, for review reports. */
export interface TextPart {
  readonly location: string;
  readonly field: TextField;
  readonly text: string;
}

export function textParts(record: DataRecord): TextPart[] {
  switch (record.kind) {
    case 'text':
      return [{ location: 'text', field: 'text', text: record.text }];
    case 'prompt':
      return [
        { location: 'prompt', field: 'prompt', text: record.prompt },
        { location: 'completion', field: 'completion', text: record.completion },
      ];
    case 'chat':
      return record.messages.map((m, i) => ({ location: `messages[${i}].content`, field: 'content' as const, text: m.content }));
    case 'tokens':
      return [];
  }
}

/** All the record's text, parts joined by newlines: what lengths, scripts and languages are measured on. */
export function recordText(record: DataRecord): string {
  switch (record.kind) {
    case 'text':
      return record.text;
    case 'prompt':
      return `${record.prompt}\n${record.completion}`;
    case 'chat':
      return record.messages.map((m) => m.content).join('\n');
    case 'tokens':
      return '';
  }
}

/** A readable one-piece rendering for report examples (chat turns keep their roles). */
export function describeRecord(record: DataRecord): string {
  switch (record.kind) {
    case 'text':
      return record.text;
    case 'prompt':
      return `${record.prompt} ⇒ ${record.completion}`;
    case 'chat':
      return record.messages.map((m) => `${m.role}: ${m.content}`).join(' | ');
    case 'tokens':
      return `[${record.inputIds.length} token ids]`;
  }
}

/** Applies `fn` to each text field; returns the same object when no text changed. */
export function mapRecordTexts(record: DataRecord, fn: (text: string, field: TextField) => string): DataRecord {
  switch (record.kind) {
    case 'text': {
      const text = fn(record.text, 'text');
      return text === record.text ? record : { kind: 'text', text };
    }
    case 'prompt': {
      const prompt = fn(record.prompt, 'prompt');
      const completion = fn(record.completion, 'completion');
      return prompt === record.prompt && completion === record.completion ? record : { kind: 'prompt', prompt, completion };
    }
    case 'chat': {
      let changed = false;
      const messages: ChatMessage[] = record.messages.map((m) => {
        const content = fn(m.content, 'content');
        if (content === m.content) return m;
        changed = true;
        return { role: m.role, content };
      });
      return changed ? { kind: 'chat', messages } : record;
    }
    case 'tokens':
      return record;
  }
}

/** The same dataset record (source, fields, generated marker) holding a new inner record. */
export function withRecord(rec: DatasetRecord, record: DataRecord): DatasetRecord {
  return record === rec.record ? rec : { ...rec, record };
}

/**
 * Whether the record has anything to train on: text, a completion, an assistant turn with
 * content, or token ids. A prompt with an empty completion teaches nothing.
 */
export function hasTrainableContent(record: DataRecord): boolean {
  switch (record.kind) {
    case 'text':
      return record.text.trim() !== '';
    case 'prompt':
      return record.completion.trim() !== '';
    case 'chat':
      return record.messages.some((m) => m.content.trim() !== '');
    case 'tokens':
      return record.inputIds.length > 0;
  }
}
