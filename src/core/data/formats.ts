/**
 * Record formats (TRL / Axolotl conventions): one row of a file, an object of fields, becomes one
 * DataRecord. The format is told apart per row by which fields it has, under the user's names.
 */
import { chatRuleProblem } from './chat-rules.ts';
import { maybeJson, readMessages, typeName, type Checked } from './messages.ts';
import type { DataRecord, RecordKind } from './records.ts';

/** The user's field names for each known field, e.g. `{ prompt: 'question', completion: 'answer' }`. */
export interface ColumnMapping {
  text?: string;
  prompt?: string;
  completion?: string;
  instruction?: string;
  input?: string;
  output?: string;
  messages?: string;
  conversations?: string;
  input_ids?: string;
  labels?: string;
}

export type KnownField = keyof ColumnMapping;

/** Alpaca rows become a prompt/completion with the Alpaca prompt text, or a user/assistant chat. */
export type AlpacaAs = 'prompt' | 'chat';

export interface RowOptions {
  columns?: ColumnMapping;
  alpacaAs?: AlpacaAs;
  /** Leave out conversations that break the import rule (chat-rules.ts); default true. */
  chatRules?: boolean;
}

export interface RowRecord {
  record: DataRecord;
  /** The row's other fields. */
  fields?: Record<string, unknown>;
}

// Stanford Alpaca's prompt text, byte for byte, so models trained elsewhere see what they expect.
const ALPACA_WITH_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n';
const ALPACA_NO_INPUT =
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Response:\n';

/** The Alpaca prompt for an instruction and an optional input (empty input: the no-input form). */
export function alpacaPrompt(instruction: string, input = ''): string {
  const tpl = input.trim() === '' ? ALPACA_NO_INPUT : ALPACA_WITH_INPUT;
  return tpl.replace('{instruction}', () => instruction).replace('{input}', () => input);
}

const LIST_FIELDS: ReadonlySet<KnownField> = new Set(['messages', 'conversations', 'input_ids', 'labels']);

/** Which record kind each set of fields makes; checked in this order. */
const SHAPES: readonly { kind: RecordKind; needs: readonly KnownField[]; label: string }[] = [
  { kind: 'tokens', needs: ['input_ids'], label: 'input_ids' },
  { kind: 'chat', needs: ['messages'], label: 'messages' },
  { kind: 'chat', needs: ['conversations'], label: 'conversations' },
  { kind: 'prompt', needs: ['instruction', 'output'], label: 'instruction+output' },
  { kind: 'prompt', needs: ['prompt', 'completion'], label: 'prompt+completion' },
  { kind: 'text', needs: ['text'], label: 'text' },
];

export class RowReader {
  private readonly names: Record<KnownField, string>;

  constructor(private readonly opts: RowOptions = {}) {
    const c = opts.columns ?? {};
    this.names = {
      text: c.text ?? 'text',
      prompt: c.prompt ?? 'prompt',
      completion: c.completion ?? 'completion',
      instruction: c.instruction ?? 'instruction',
      input: c.input ?? 'input',
      output: c.output ?? 'output',
      messages: c.messages ?? 'messages',
      conversations: c.conversations ?? 'conversations',
      input_ids: c.input_ids ?? 'input_ids',
      labels: c.labels ?? 'labels',
    };
  }

  /** The user's name of a field, quoted, with the known name when they differ. */
  private label(f: KnownField): string {
    const n = this.names[f];
    return n === f ? `"${n}"` : `"${n}" (${f})`;
  }

  /** Present; an empty cell of a list field (CSV rows have every column) counts as absent. */
  private has(row: Record<string, unknown>, f: KnownField): boolean {
    const v = row[this.names[f]];
    return v !== undefined && v !== null && !(v === '' && LIST_FIELDS.has(f));
  }

  private blank(row: Record<string, unknown>, f: KnownField): boolean {
    return row[this.names[f]] === '';
  }

  read(row: Record<string, unknown>): Checked<RowRecord> {
    for (const shape of SHAPES) {
      // a shape whose fields are all empty cells is not this row's format
      if (!shape.needs.every((f) => this.has(row, f)) || shape.needs.every((f) => this.blank(row, f))) continue;
      const used: KnownField[] = [...shape.needs];
      let r: Checked<DataRecord>;
      switch (shape.label) {
        case 'input_ids':
          used.push('labels');
          r = this.tokens(row);
          break;
        case 'messages':
        case 'conversations': {
          const f = shape.needs[0]!;
          const m = readMessages(row[this.names[f]], this.names[f]);
          r = m.ok ? { ok: true, value: { kind: 'chat', messages: m.value } } : m;
          break;
        }
        case 'instruction+output':
          used.push('input');
          r = this.alpaca(row);
          break;
        case 'prompt+completion':
          r = this.promptCompletion(row);
          break;
        default:
          r = this.text(row);
      }
      if (!r.ok) return r;
      if (r.value.kind === 'chat' && this.opts.chatRules !== false) {
        const field = shape.label === 'prompt+completion' ? `"${this.names.prompt}"+"${this.names.completion}"` : `"${this.names[shape.needs[0]!]}"`;
        const why = chatRuleProblem(r.value.messages, field);
        if (why !== null) return { ok: false, reason: why };
      }
      // empty cells of other formats' columns are not fields of this row
      const skip = new Set(used.map((f) => this.names[f]));
      for (const f of Object.keys(this.names) as KnownField[]) if (this.blank(row, f)) skip.add(this.names[f]);
      return { ok: true, value: withFields(r.value, row, skip) };
    }
    return { ok: false, reason: this.missing(row) };
  }

  /** Why no format matched: a half-present pair, or the list of what was expected. */
  private missing(row: Record<string, unknown>): string {
    if ('chosen' in row && 'rejected' in row) return 'is a preference pair (chosen/rejected): it trains with DPO, ORPO or SimPO (--method dpo), not SFT';
    const pairs: [KnownField, KnownField][] = [
      ['prompt', 'completion'],
      ['instruction', 'output'],
    ];
    const empty = SHAPES.flatMap((s) => s.needs).filter((f, i, all) => all.indexOf(f) === i && this.blank(row, f));
    if (empty.length) return `${empty.map((f) => this.label(f)).join(' and ')} ${empty.length > 1 ? 'are' : 'is'} empty`;
    for (const [a, b] of pairs) {
      if (this.has(row, a) !== this.has(row, b)) {
        const [got, lack] = this.has(row, a) ? [a, b] : [b, a];
        return `has ${this.label(got)} but no ${this.label(lack)}`;
      }
    }
    const keys = Object.keys(row);
    const found = keys.length ? keys.slice(0, 8).map((k) => `"${k}"`).join(', ') + (keys.length > 8 ? ', …' : '') : 'none';
    const expected = SHAPES.map((s) => s.needs.map((f) => this.names[f]).join('+')).join(', ');
    return `no known fields: expected one of ${expected} (found ${found}); map your columns to these`;
  }

  private str(row: Record<string, unknown>, f: KnownField, { nonEmpty }: { nonEmpty: boolean }): Checked<string> {
    const v = row[this.names[f]];
    if (typeof v !== 'string') return { ok: false, reason: `${this.label(f)} must be a string, got ${typeName(v)}` };
    if (nonEmpty && v.trim() === '') return { ok: false, reason: `${this.label(f)} is empty` };
    return { ok: true, value: v };
  }

  private text(row: Record<string, unknown>): Checked<DataRecord> {
    const t = this.str(row, 'text', { nonEmpty: true });
    return t.ok ? { ok: true, value: { kind: 'text', text: t.value } } : t;
  }

  private promptCompletion(row: Record<string, unknown>): Checked<DataRecord> {
    const p = maybeJson(row[this.names.prompt]);
    const c = maybeJson(row[this.names.completion]);
    // TRL's conversational prompt-completion: both are message lists.
    if (Array.isArray(p) || Array.isArray(c)) {
      if (!Array.isArray(p) || !Array.isArray(c)) {
        return { ok: false, reason: `${this.label('prompt')} and ${this.label('completion')} must both be strings or both be message lists` };
      }
      const pm = readMessages(p, this.names.prompt);
      if (!pm.ok) return pm;
      const cm = readMessages(c, this.names.completion);
      if (!cm.ok) return cm;
      return { ok: true, value: { kind: 'chat', messages: [...pm.value, ...cm.value] } };
    }
    const prompt = this.str(row, 'prompt', { nonEmpty: false });
    if (!prompt.ok) return prompt;
    const completion = this.str(row, 'completion', { nonEmpty: true });
    if (!completion.ok) return completion;
    return { ok: true, value: { kind: 'prompt', prompt: prompt.value, completion: completion.value } };
  }

  private alpaca(row: Record<string, unknown>): Checked<DataRecord> {
    const instruction = this.str(row, 'instruction', { nonEmpty: true });
    if (!instruction.ok) return instruction;
    let input = '';
    if (this.has(row, 'input')) {
      const i = this.str(row, 'input', { nonEmpty: false });
      if (!i.ok) return i;
      input = i.value;
    }
    const output = this.str(row, 'output', { nonEmpty: true });
    if (!output.ok) return output;
    if (this.opts.alpacaAs === 'chat') {
      const user = input.trim() === '' ? instruction.value : `${instruction.value}\n\n${input}`;
      return { ok: true, value: { kind: 'chat', messages: [{ role: 'user', content: user }, { role: 'assistant', content: output.value }] } };
    }
    return { ok: true, value: { kind: 'prompt', prompt: alpacaPrompt(instruction.value, input), completion: output.value } };
  }

  private tokens(row: Record<string, unknown>): Checked<DataRecord> {
    const ids = intList(row[this.names.input_ids], this.label('input_ids'), false);
    if (!ids.ok) return ids;
    if (ids.value.length === 0) return { ok: false, reason: `${this.label('input_ids')} is an empty list` };
    // an empty CSV cell means no labels
    if (!this.has(row, 'labels') || row[this.names.labels] === '') return { ok: true, value: { kind: 'tokens', inputIds: ids.value } };
    const labels = intList(row[this.names.labels], this.label('labels'), true);
    if (!labels.ok) return labels;
    if (labels.value.length !== ids.value.length) {
      return { ok: false, reason: `${this.label('labels')} has ${labels.value.length} items but ${this.label('input_ids')} has ${ids.value.length}` };
    }
    return { ok: true, value: { kind: 'tokens', inputIds: ids.value, labels: labels.value } };
  }
}

function intList(raw: unknown, label: string, allowIgnore: boolean): Checked<number[]> {
  const v = maybeJson(raw);
  if (!Array.isArray(v)) return { ok: false, reason: `${label} must be a list of integers, got ${typeName(v)}` };
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as unknown;
    if (typeof x !== 'number' || !Number.isInteger(x) || (x < 0 && !(allowIgnore && x === -100))) {
      const want = allowIgnore ? 'a token id ≥ 0 or -100' : 'a token id ≥ 0';
      return { ok: false, reason: `${label}[${i}] is ${JSON.stringify(x) ?? String(x)}; expected ${want}` };
    }
  }
  return { ok: true, value: v as number[] };
}

/** The record plus the row's unused fields (own properties only, so "__proto__" stays a plain key). */
function withFields(record: DataRecord, row: Record<string, unknown>, used: Set<string>): RowRecord {
  const rest: [string, unknown][] = [];
  for (const k of Object.keys(row)) if (!used.has(k)) rest.push([k, row[k]]);
  return rest.length ? { record, fields: Object.fromEntries(rest) } : { record };
}
