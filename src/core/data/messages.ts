/**
 * Conversations as users bring them: OpenAI-style `{role, content}` lists and ShareGPT
 * `{from, value}` lists, validated and normalised to `ChatMessage[]`.
 */
import type { ChatMessage } from './records.ts';

/** ShareGPT speaker names and the chat roles they mean. Canonical names pass through. */
const SHAREGPT_ROLES: Readonly<Record<string, string>> = {
  human: 'user',
  gpt: 'assistant',
  system: 'system',
  user: 'user',
  assistant: 'assistant',
  tool: 'tool',
};

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** CSV cells and some exporters hold nested values as JSON text. */
export function maybeJson(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const s = v.trim();
  if (!(s.startsWith('[') || s.startsWith('{'))) return v;
  try {
    return JSON.parse(s);
  } catch {
    return v;
  }
}

/** Content as a string; a list of `{type: 'text', text}` parts (OpenAI multimodal style) is joined. */
function contentOf(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) return null;
  let out = '';
  for (const part of v) {
    if (part === null || typeof part !== 'object') return null;
    const p = part as Record<string, unknown>;
    if (p['type'] !== 'text' || typeof p['text'] !== 'string') return null;
    out += p['text'];
  }
  return out;
}

/**
 * Validates a message list. Each item is `{role, content}` or, for ShareGPT, `{from, value}`
 * (human→user, gpt→assistant, system→system). `field` names the column in reasons.
 */
export function readMessages(raw: unknown, field: string): Checked<ChatMessage[]> {
  const v = maybeJson(raw);
  if (!Array.isArray(v)) return { ok: false, reason: `"${field}" must be a list of messages, got ${typeName(v)}` };
  if (v.length === 0) return { ok: false, reason: `"${field}" is an empty list` };
  const out: ChatMessage[] = [];
  for (let i = 0; i < v.length; i++) {
    const m = v[i] as unknown;
    const at = `"${field}"[${i}]`;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return { ok: false, reason: `${at} must be an object, got ${typeName(m)}` };
    const o = m as Record<string, unknown>;
    const shareGpt = !('role' in o) && 'from' in o;
    const roleKey = shareGpt ? 'from' : 'role';
    const contentKey = shareGpt ? 'value' : 'content';
    const role = o[roleKey];
    if (typeof role !== 'string' || role === '') {
      const hint = shareGpt ? '' : ' (messages need "role" and "content", or ShareGPT "from" and "value")';
      return { ok: false, reason: `${at}.${roleKey} must be a non-empty string, got ${typeName(role)}${hint}` };
    }
    let chatRole = role;
    if (shareGpt) {
      const mapped = SHAREGPT_ROLES[role];
      if (mapped === undefined) return { ok: false, reason: `${at}.from is "${role}"; expected human, gpt or system (or user, assistant, tool)` };
      chatRole = mapped;
    }
    const content = contentOf(o[contentKey]);
    if (content === null) {
      return { ok: false, reason: `${at}.${contentKey} must be a string, got ${typeName(o[contentKey])}` };
    }
    out.push({ role: chatRole, content });
  }
  return { ok: true, value: out };
}
