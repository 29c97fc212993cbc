/**
 * Mixture of agents at inference (Wang et al. 2024, "Mixture-of-Agents Enhances Large Language
 * Model Capabilities"): k proposers answer the question; an aggregator reads a prompt that lists
 * their answers and writes the final one. With two layers, the second layer's proposers read the
 * first layer's answers the same way before the aggregator reads theirs. Proposers differ by
 * adapter (several adapters over one base, switched without reloading) and/or sampling settings.
 */
import type { Session } from '../session.ts';
import { generateText, type GenerateJobOptions, type GenerateJobResult, type Prompt } from './generate.ts';

/** Decoding settings a proposer may override (the rest follow the run's settings). */
export interface ProposerSampling {
  readonly greedy?: boolean;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly seed?: number;
}

export interface Proposer {
  /** How the proposal is labelled: the adapter's name, with "@T" for a sampling temperature. */
  readonly name: string;
  /** A loaded adapter's name; null: the base model alone. */
  readonly adapter: string | null;
  readonly sampling: ProposerSampling;
}

export interface MoaSettings {
  readonly proposers: readonly Proposer[];
  /** The adapter that aggregates (null: the base). */
  readonly aggregator: string | null;
  readonly layers: 1 | 2;
  /** The aggregator prompt, with {question} and {proposals} where they go. */
  readonly template: string;
  /** Wrap every prompt as a user message with the model's chat template. */
  readonly chat: boolean;
}

export interface Proposal {
  readonly proposer: string;
  readonly adapter: string | null;
  readonly text: string;
  readonly ids: readonly number[];
}

export interface MoaResult {
  /** The proposals of each layer, in proposer order. */
  readonly layers: readonly (readonly Proposal[])[];
  /** The text the aggregator answered (the template filled with the last layer's proposals). */
  readonly aggregatorPrompt: string;
  readonly final: GenerateJobResult;
}

/** Together's MoA aggregator instruction, shortened; the question comes last so the answer follows it. */
export const DEFAULT_AGGREGATOR_TEMPLATE =
  'Several assistants answered the question below. Their answers:\n{proposals}\n\n'
  + 'Write one answer that keeps what is correct in them.\n\n{question}';

/** Where a template is missing a placeholder, one line that says so; null when it has both. */
export function templateProblem(template: string): string | null {
  const missing = ['{question}', '{proposals}'].filter((p) => !template.includes(p));
  return missing.length ? `the aggregator prompt needs ${missing.join(' and ')} in it` : null;
}

/** The aggregator prompt: proposals numbered one per line (line breaks inside an answer become spaces). */
export function aggregatorPrompt(template: string, question: string, proposals: readonly Proposal[]): string {
  const list = proposals.map((p, i) => `${i + 1}. ${p.text.trim().replace(/\s*\n\s*/g, ' ')}`).join('\n');
  // One pass with a function: a "$&" or "{question}" inside an answer stays as written.
  return template.replace(/\{(question|proposals)\}/g, (_, slot: string) => (slot === 'question' ? question : list));
}

export interface MoaHooks {
  /** Each proposal as soon as it is written (layer counts from 0). */
  readonly onProposal?: (layer: number, p: Proposal) => void;
  /** Each token of the final answer. */
  readonly onToken?: GenerateJobOptions['onToken'];
}

/**
 * Runs the mixture on a session whose adapters were loaded with `loadAdapters`. `o` gives the
 * decoding settings every proposer starts from (its own override them) and the aggregator's.
 */
export async function runMoa(
  session: Session, question: string, s: MoaSettings, o: Omit<GenerateJobOptions, 'onToken'>, hooks: MoaHooks = {},
): Promise<MoaResult> {
  session.requireTokenizer();
  const problem = templateProblem(s.template);
  if (problem) throw new Error(problem);
  if (s.proposers.length === 0) throw new Error('a mixture of agents needs at least one proposer');
  const asPrompt = (text: string): Prompt => (s.chat ? { messages: [{ role: 'user', content: text }] } : { text });
  const layers: Proposal[][] = [];
  let prompt = question;
  for (let layer = 0; layer < s.layers; layer++) {
    const proposals: Proposal[] = [];
    for (const p of s.proposers) {
      session.useAdapter(p.adapter);
      const g = await generateText(session, asPrompt(prompt), { ...o, ...p.sampling });
      const proposal = { proposer: p.name, adapter: p.adapter, text: g.text ?? '', ids: g.ids };
      proposals.push(proposal);
      hooks.onProposal?.(layer, proposal);
    }
    layers.push(proposals);
    prompt = aggregatorPrompt(s.template, question, proposals);
  }
  session.useAdapter(s.aggregator);
  const final = await generateText(session, asPrompt(prompt), { ...o, onToken: hooks.onToken });
  return { layers, aggregatorPrompt: prompt, final };
}
