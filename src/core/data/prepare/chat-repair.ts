/**
 * Repair (or rejection) of broken chat structure. Chat templates and loss masks assume
 * [system] user assistant user assistant ... ending on an assistant turn; a conversation that
 * breaks this either fails to render or trains on the wrong tokens. `tool` turns may follow an
 * assistant turn (tool calls) and are left in place.
 */
import type { ChatMessage } from '../records.ts';

export type ChatRule = 'unknown-role' | 'empty-turn' | 'misplaced-system' | 'role-order' | 'final-turn' | 'no-assistant';

export interface ChatRepairOptions {
  /** Roles a conversation may use. */
  readonly roles: readonly string[];
  /** A message with another role: drop that message, or the whole record. */
  readonly unknownRole: 'drop-message' | 'drop-record';
  /**
   * Two turns of one role in a row (and a conversation opening with the assistant): `merge`
   * joins the turns (and drops the opening assistant turn), `drop` drops the record.
   */
  readonly roleOrder: 'merge' | 'drop';
  /** An empty turn: drop it (an empty assistant turn takes its user turn with it), or the record. */
  readonly emptyTurn: 'drop-turn' | 'drop-record';
  /** A conversation not ending on an assistant turn: trim what follows the last one, drop the record, or keep it. */
  readonly finalTurn: 'trim' | 'drop' | 'keep';
  /** Put between merged turns. */
  readonly mergeSeparator: string;
}

export const DEFAULT_CHAT_REPAIR: ChatRepairOptions = {
  roles: ['system', 'user', 'assistant', 'tool'],
  unknownRole: 'drop-record',
  roleOrder: 'merge',
  emptyTurn: 'drop-turn',
  finalTurn: 'trim',
  mergeSeparator: '\n\n',
};

export interface ChatIssue {
  readonly rule: ChatRule;
  readonly note: string;
}

export interface ChatRepair {
  /** The repaired messages, or null when the record should be dropped (the last issue says why). */
  readonly messages: ChatMessage[] | null;
  readonly issues: ChatIssue[];
}

export function repairChat(input: readonly ChatMessage[], opts: ChatRepairOptions = DEFAULT_CHAT_REPAIR): ChatRepair {
  const issues: ChatIssue[] = [];
  const drop = (rule: ChatRule, note: string): ChatRepair => {
    issues.push({ rule, note });
    return { messages: null, issues };
  };
  let ms: ChatMessage[] = [...input];

  const unknown = ms.filter((m) => !opts.roles.includes(m.role));
  if (unknown.length > 0) {
    const names = [...new Set(unknown.map((m) => JSON.stringify(m.role)))].join(', ');
    if (opts.unknownRole === 'drop-record') return drop('unknown-role', `unknown role ${names}`);
    ms = ms.filter((m) => opts.roles.includes(m.role));
    issues.push({ rule: 'unknown-role', note: `removed ${unknown.length} turn(s) with role ${names}` });
  }

  if (ms.some((m) => m.content.trim() === '')) {
    if (opts.emptyTurn === 'drop-record') return drop('empty-turn', 'empty turn');
    const kept: ChatMessage[] = [];
    let removed = 0;
    for (const m of ms) {
      if (m.content.trim() !== '') {
        kept.push(m);
        continue;
      }
      removed++;
      // An unanswered question is not a training example: it leaves with its empty answer.
      if (m.role === 'assistant' && kept.at(-1)?.role === 'user') {
        kept.pop();
        removed++;
      }
    }
    ms = kept;
    issues.push({ rule: 'empty-turn', note: `removed ${removed} turn(s) around empty content` });
  }

  const firstOther = ms.findIndex((m) => m.role !== 'system');
  if (firstOther >= 0 && ms.slice(firstOther).some((m) => m.role === 'system')) {
    if (opts.roleOrder === 'drop') return drop('misplaced-system', 'system turn after the conversation started');
    ms = ms.filter((m, i) => i < firstOther || m.role !== 'system');
    issues.push({ rule: 'misplaced-system', note: 'removed system turn(s) after the conversation started' });
  }

  let merged = 0;
  const joined: ChatMessage[] = [];
  for (const m of ms) {
    const prev = joined.at(-1);
    // Several tool results in a row are normal (parallel tool calls).
    if (prev && prev.role === m.role && m.role !== 'tool') {
      if (opts.roleOrder === 'drop') return drop('role-order', `two ${m.role} turns in a row`);
      joined[joined.length - 1] = { role: m.role, content: prev.content + opts.mergeSeparator + m.content };
      merged++;
    } else joined.push(m);
  }
  ms = joined;
  if (merged > 0) issues.push({ rule: 'role-order', note: `merged ${merged} repeated turn(s)` });

  const start = ms.findIndex((m) => m.role !== 'system');
  if (start >= 0 && ms[start]!.role !== 'user') {
    if (opts.roleOrder === 'drop') return drop('role-order', `conversation opens with ${ms[start]!.role}`);
    let end = start;
    while (end < ms.length && ms[end]!.role !== 'user') end++;
    issues.push({ rule: 'role-order', note: `removed ${end - start} turn(s) before the first user turn` });
    ms = [...ms.slice(0, start), ...ms.slice(end)];
  }

  let lastAssistant = ms.length - 1;
  while (lastAssistant >= 0 && ms[lastAssistant]!.role !== 'assistant') lastAssistant--;
  if (lastAssistant < 0) return drop('no-assistant', 'no assistant turn left');
  if (lastAssistant < ms.length - 1 && opts.finalTurn !== 'keep') {
    const tail = ms.length - 1 - lastAssistant;
    if (opts.finalTurn === 'drop') return drop('final-turn', `ends with ${ms.at(-1)!.role}`);
    ms = ms.slice(0, lastAssistant + 1);
    issues.push({ rule: 'final-turn', note: `trimmed ${tail} turn(s) after the last assistant turn` });
  }
  return { messages: ms, issues };
}
