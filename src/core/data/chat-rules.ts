/**
 * The rule conversations must follow to be imported for training or evaluation. A conversation
 * that breaks it is left out, with its line and this reason, never trained on as it is:
 * - every role is system, user, assistant or tool;
 * - after any system turns, the user speaks first;
 * - there is an assistant turn, and the conversation ends on one (what follows it would not train).
 * `data prepare` reads such conversations anyway and repairs or removes them under its own
 * reported rules (prepare/chat-repair.ts).
 */
import type { ChatMessage } from './records.ts';

export const CHAT_ROLES: readonly string[] = ['system', 'user', 'assistant', 'tool'];

/** Why a conversation breaks the rule, or null. `field` names the messages' column in reasons. */
export function chatRuleProblem(messages: readonly ChatMessage[], field: string): string | null {
  const at = (i: number) => `${field}[${i}]`;
  const unknown = messages.findIndex((m) => !CHAT_ROLES.includes(m.role));
  if (unknown >= 0) return `${at(unknown)}.role is "${messages[unknown]!.role}"; expected ${CHAT_ROLES.join(', ')}`;
  const first = messages.findIndex((m) => m.role !== 'system');
  if (first < 0 || !messages.some((m) => m.role === 'assistant')) return 'has no assistant turn, so nothing to learn from';
  if (messages[first]!.role !== 'user') {
    return `${at(first)} opens the conversation as ${messages[first]!.role}; the user must speak first (after any system turns)`;
  }
  const last = messages.length - 1;
  if (messages[last]!.role !== 'assistant') return `ends with a ${messages[last]!.role} turn (${at(last)}); the last turn must be the assistant's`;
  return null;
}
