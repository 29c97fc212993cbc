/**
 * The bookkeeping training needs on top of a chat template: which characters of a rendered
 * conversation are a message's content, and which tokens belong to assistant turns (the loss mask).
 */
import type { ChatMessage } from '../formats/chat-template.ts';
import { TemplateLimitError } from '../formats/template-budget.ts';
import type { Tokenizer } from '../formats/tokenizer/tokenizer.ts';

/** Where a message's content sits in the rendered conversation (UTF-16 offsets). */
export interface ChatSpan {
  /** Index of the message. */
  index: number;
  role: string;
  /** Content range [start, end). */
  start: number;
  end: number;
  /**
   * End of the turn's closing marker: `end` extended over whitespace and the special token the
   * template writes right after the content (`<|im_end|>`, `<|eot_id|>`, `</s>`…); `end` if none.
   */
  turnEnd: number;
}

export interface ChatRenderOptions {
  addGenerationPrompt?: boolean;
}

const SENTINEL = '\uE000tabtune\uE001';

/**
 * Renders `messages` and locates each message's content in the text.
 *
 * First the conversation is rendered once more with every content replaced by a numbered
 * sentinel; when putting the contents back in place of the sentinels gives the real rendering,
 * the positions are exact (even if a content also occurs in the template's scaffolding). When it
 * does not (a template that trims or rewrites contents), each message i is located by rendering
 * the conversation up to i as is and with a sentinel, which works for prefix-stable templates;
 * failing that, the content is searched for after the previous message.
 */
export function chatSpans(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  opts: ChatRenderOptions = {},
): { text: string; spans: ChatSpan[] } {
  const addGenerationPrompt = !!opts.addGenerationPrompt;
  const text = tokenizer.applyChatTemplate(messages, { addGenerationPrompt });
  const markers = endMarkers(tokenizer);
  const all = locateAll(tokenizer, messages, addGenerationPrompt, text);
  const spans: ChatSpan[] = [];
  let cursor = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const found = all?.[i] ?? locateByRendering(tokenizer, messages, i, text, cursor) ?? locateBySearch(text, m.content, cursor);
    if (!found) {
      throw new Error(`chat template: the content of message ${i} (${m.role}) does not appear in the rendered text; cannot tell its tokens apart`);
    }
    const limit = found.regionEnd ?? text.length;
    spans.push({ index: i, role: m.role, start: found.start, end: found.end, turnEnd: markerEnd(text, found.end, limit, markers) });
    cursor = found.end;
  }
  return { text, spans };
}

interface Located {
  start: number;
  end: number;
  /** End of this message's part of the rendering, when known. */
  regionEnd?: number;
}

function locateAll(tokenizer: Tokenizer, messages: readonly ChatMessage[], addGenerationPrompt: boolean, text: string): Located[] | null {
  const tag = (i: number): string => `\uE000${i}\uE001`;
  let probe: string;
  try {
    probe = tokenizer.applyChatTemplate(
      messages.map((m, i) => ({ ...m, content: tag(i) })),
      { addGenerationPrompt },
    );
  } catch (e) {
    if (e instanceof TemplateLimitError) throw e;
    return null;
  }
  const out: Located[] = [];
  let rebuilt = '';
  let last = 0;
  for (let i = 0; i < messages.length; i++) {
    const t = tag(i);
    const at = probe.indexOf(t, last);
    if (at < 0 || probe.indexOf(t, at + t.length) >= 0) return null;
    rebuilt += probe.slice(last, at);
    const start = rebuilt.length;
    rebuilt += messages[i]!.content;
    out.push({ start, end: rebuilt.length });
    last = at + t.length;
  }
  rebuilt += probe.slice(last);
  if (rebuilt !== text) return null;
  // a turn's marker search stops where the next content begins
  for (let i = 0; i < out.length; i++) out[i]!.regionEnd = i + 1 < out.length ? out[i + 1]!.start : text.length;
  return out;
}

function locateByRendering(tokenizer: Tokenizer, messages: readonly ChatMessage[], i: number, text: string, cursor: number): Located | null {
  let upto: string;
  let probe: string;
  try {
    const head = messages.slice(0, i);
    upto = tokenizer.applyChatTemplate([...head, messages[i]!]);
    probe = tokenizer.applyChatTemplate([...head, { ...messages[i]!, content: SENTINEL }]);
  } catch (e) {
    if (e instanceof TemplateLimitError) throw e;
    return null;
  }
  if (!text.startsWith(upto)) return null;
  const p = probe.indexOf(SENTINEL);
  if (p < cursor || probe.indexOf(SENTINEL, p + 1) >= 0) return null;
  const tail = probe.slice(p + SENTINEL.length);
  if (upto.slice(0, p) !== probe.slice(0, p) || !upto.endsWith(tail) || upto.length - tail.length < p) return null;
  return { start: p, end: upto.length - tail.length, regionEnd: upto.length };
}

function locateBySearch(text: string, content: string, cursor: number): Located | null {
  let at = text.indexOf(content, cursor);
  if (at >= 0) return { start: at, end: at + content.length };
  const trimmed = content.trim();
  at = text.indexOf(trimmed, cursor);
  return at >= 0 ? { start: at, end: at + trimmed.length } : null;
}

/** Special added tokens and the EOS token, longest first. */
function endMarkers(tokenizer: Tokenizer): string[] {
  const set = new Set<string>();
  for (const t of tokenizer.addedTokens) if (t.special && t.content) set.add(t.content);
  const eos = tokenizer.specialTokens.eos?.content;
  if (eos) set.add(eos);
  return [...set].sort((a, b) => b.length - a.length);
}

function markerEnd(text: string, end: number, limit: number, markers: string[]): number {
  let k = end;
  while (k < limit && /\s/u.test(text[k]!)) k++;
  for (const m of markers) {
    if (k + m.length <= limit && text.startsWith(m, k)) return k + m.length;
  }
  return end;
}

export interface EncodedChat {
  text: string;
  ids: number[];
  /** True for tokens of the trained roles' turns: their content and closing marker. */
  assistantMask: boolean[];
  spans: ChatSpan[];
}

/**
 * Renders and tokenizes a conversation (added tokens matched in the text, no post-processor, as
 * transformers' apply_chat_template(tokenize=True) does) and marks the tokens of assistant turns:
 * the content and the end-of-turn marker after it, not the header the template writes before it.
 * A token that straddles a boundary counts as the turn's.
 */
export function encodeChat(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  opts: ChatRenderOptions & { trainRoles?: readonly string[] } = {},
): EncodedChat {
  const { text, spans } = chatSpans(tokenizer, messages, opts);
  const roles = new Set(opts.trainRoles ?? ['assistant']);
  const ranges = spans.filter((s) => roles.has(s.role) && s.turnEnd > s.start).map((s) => [s.start, s.turnEnd] as const);
  const { ids, offsets } = tokenizer.encodeWithOffsets(text);
  const assistantMask = new Array<boolean>(ids.length).fill(false);
  let r = 0;
  for (let k = 0; k < ids.length; k++) {
    const [a, b] = offsets[k]!;
    while (r < ranges.length && ranges[r]![1] <= a) r++;
    if (r >= ranges.length) break;
    const [s, e] = ranges[r]!;
    assistantMask[k] = a === b ? a >= s && a < e : a < e && b > s;
  }
  return { text, ids, assistantMask, spans };
}
