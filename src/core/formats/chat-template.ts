/**
 * Chat templates (Jinja, rendered with @huggingface/jinja as transformers renders them). Which
 * tokens of a rendered conversation are trained on is the data layer's concern (data/chat-mask.ts).
 */
import { Template } from '@huggingface/jinja';
import { renderWithBudget } from './template-budget.ts';

export interface ChatMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

export interface ChatTemplateVars {
  messages: ChatMessage[];
  add_generation_prompt?: boolean;
  bos_token?: string;
  eos_token?: string;
  [key: string]: unknown;
}

const compiled = new Map<string, Template>();

/** Renders a chat template under the limits of template-budget.ts. Parsed templates are cached. */
export function renderChatTemplate(template: string, vars: ChatTemplateVars): string {
  let t = compiled.get(template);
  if (t === undefined) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new Error(`chat template does not parse: ${(e as Error).message}`);
    }
    if (compiled.size >= 16) compiled.clear();
    compiled.set(template, t);
  }
  return renderWithBudget(t, { add_generation_prompt: false, ...vars });
}
