/**
 * An Ollama Modelfile for an exported GGUF: FROM (and ADAPTER), the chat template translated to
 * Ollama's Go template, stop sequences and sampling parameters.
 *
 * A Jinja template is not translated statement by statement: it is rendered with marker
 * messages, and the text around each marker becomes the role's prefix and suffix. That covers
 * the per-message templates (ChatML, Llama 3, Zephyr, …) that chat models use; a template whose
 * output for a message depends on more than its role and content cannot be expressed this way
 * and is reported instead of being guessed.
 */
import type { ChatMessage } from './chat-template.ts';

export type RenderChat = (messages: readonly ChatMessage[], addGenerationPrompt: boolean) => string;

interface RoleParts {
  readonly prefix: string;
  readonly suffix: string;
}

export interface TemplateParts {
  readonly system: RoleParts | null;
  readonly user: RoleParts;
  readonly assistant: RoleParts;
  /** What add_generation_prompt appends. */
  readonly generation: string;
}

const MARK = { system: '\u0001SYSTEM\u0001', user: '\u0001USER\u0001', assistant: '\u0001ASSISTANT\u0001' } as const;

function splitAround(text: string, marker: string, what: string): RoleParts {
  const at = text.indexOf(marker);
  if (at < 0 || text.indexOf(marker, at + 1) >= 0) throw new Error(`the chat template does not render the ${what} content exactly once`);
  return { prefix: text.slice(0, at), suffix: text.slice(at + marker.length) };
}

function after(longer: string, shorter: string, what: string): string {
  if (!longer.startsWith(shorter)) throw new Error(`the chat template renders earlier messages differently once a ${what} follows`);
  return longer.slice(shorter.length);
}

/** The template's per-role text, found by rendering marker conversations. */
export function templateParts(render: RenderChat): TemplateParts {
  const sys: ChatMessage = { role: 'system', content: MARK.system };
  const user: ChatMessage = { role: 'user', content: MARK.user };
  const asst: ChatMessage = { role: 'assistant', content: MARK.assistant };
  let system: RoleParts | null = null;
  let head: ChatMessage[] = [];
  let base = '';
  try {
    base = render([sys], false);
    system = splitAround(base, MARK.system, 'system');
    head = [sys];
  } catch {
    // Templates that refuse a system message (or a conversation starting with one) get none.
    base = '';
  }
  const withUser = render([...head, user], false);
  const userParts = splitAround(after(withUser, base, 'user message'), MARK.user, 'user');
  const withAsst = render([...head, user, asst], false);
  const asstParts = splitAround(after(withAsst, withUser, 'assistant message'), MARK.assistant, 'assistant');
  const generation = after(render([...head, user], true), withUser, 'generation prompt');
  const parts = { system, user: userParts, assistant: asstParts, generation };
  // The parts must rebuild a longer conversation exactly, or the translation would be wrong.
  const talk: ChatMessage[] = [...head, user, asst, user, asst, user];
  const wrap = (r: RoleParts | null, m: ChatMessage): string => `${r!.prefix}${m.content}${r!.suffix}`;
  const rebuilt = talk.map((m) => wrap(m.role === 'system' ? system : m.role === 'user' ? userParts : asstParts, m)).join('') + generation;
  if (render(talk, true) !== rebuilt) throw new Error('the chat template renders a message differently depending on its place in the conversation');
  return parts;
}

/** Text inside a Go template, with `{{` kept literal. */
function goLiteral(s: string): string {
  return s.replace(/\{\{/g, '{{ "{{" }}');
}

/**
 * The Go template for Ollama's `.Messages`. No `{{-` trimming: the role texts keep their exact
 * whitespace, which the model was trained with.
 */
export function goTemplate(p: TemplateParts): string {
  const branch = (role: string, parts: RoleParts): string =>
    `{{ if eq .Role "${role}" }}${goLiteral(parts.prefix)}{{ .Content }}${goLiteral(parts.suffix)}{{ end }}`;
  const roles = [p.system ? branch('system', p.system) : '', branch('user', p.user), branch('assistant', p.assistant)].join('');
  return `{{ range .Messages }}${roles}{{ end }}${goLiteral(p.generation)}`;
}

export interface ModelfileOptions {
  /** Path written after FROM (relative to the Modelfile, e.g. `./model.gguf`). */
  readonly from: string;
  /** A LoRA GGUF applied on top (Ollama's ADAPTER). */
  readonly adapter?: string;
  readonly template: TemplateParts | null;
  /** Stop sequences: the eos token text and the special tokens that end an assistant turn. */
  readonly stops: readonly string[];
  readonly parameters: Readonly<Record<string, number>>;
}

function quoted(s: string): string {
  return JSON.stringify(s);
}

export function modelfileText(o: ModelfileOptions): string {
  const lines = [`FROM ${o.from}`];
  if (o.adapter) lines.push(`ADAPTER ${o.adapter}`);
  if (o.template) {
    const t = goTemplate(o.template);
    if (t.includes('"""')) throw new Error('the chat template contains """, which a Modelfile TEMPLATE cannot hold');
    lines.push(`TEMPLATE """${t}"""`);
  }
  for (const s of o.stops) lines.push(`PARAMETER stop ${quoted(s)}`);
  for (const [k, v] of Object.entries(o.parameters)) lines.push(`PARAMETER ${k} ${v}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Stop sequences: the eos token, and any special token that closes the assistant's turn in the
 * template (ChatML's `<|im_end|>`, Llama 3's `<|eot_id|>`).
 */
export function stopSequences(parts: TemplateParts | null, eos: string | undefined, specialTokens: readonly string[]): string[] {
  const stops = new Set<string>();
  if (eos) stops.add(eos);
  const suffix = parts?.assistant.suffix ?? '';
  for (const t of specialTokens) if (t && suffix.includes(t)) stops.add(t);
  return [...stops];
}
