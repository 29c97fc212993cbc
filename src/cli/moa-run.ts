/** `tabtune generate --moa`: the flags, their checks, and the run with its output. */
import type { Session } from '../core/session.ts';
import type { GenerateJobOptions } from '../core/pipeline/generate.ts';
import { DEFAULT_AGGREGATOR_TEMPLATE, runMoa, templateProblem, type MoaSettings, type Proposal } from '../core/pipeline/moa.ts';
import { UsageError } from './args.ts';
import { pickAdapter, parseProposers } from './adapter-list.ts';
import type { Output } from './output.ts';

export const MOA_FLAGS = [
  { name: 'moa', kind: 'boolean', help: 'mixture of agents: proposers answer, an aggregator reads their answers and writes the final one' },
  {
    name: 'proposers', kind: 'list', value: 'NAME[@T],...',
    help: 'with --moa: adapters ("base": none) that propose, each with the run\'s decoding or sampling at temperature T (default: every adapter)',
  },
  { name: 'aggregator', kind: 'string', value: 'NAME', help: 'with --moa: the adapter that aggregates ("base": none; default: the first adapter)' },
  { name: 'moa-layers', kind: 'int', value: 'N', help: 'with --moa: proposer layers before the aggregator (1 or 2)', default: 1, min: 1, max: 2 },
  {
    name: 'aggregator-prompt', kind: 'string', value: 'TEXT',
    help: 'with --moa: the aggregator\'s prompt, with {question} and {proposals} (the answers, numbered one per line)',
  },
] as const;

interface MoaFlags {
  readonly moa: boolean;
  readonly proposers?: readonly string[];
  readonly aggregator?: string;
  readonly moaLayers: number;
  readonly aggregatorPrompt?: string;
  readonly seed: number;
  readonly given: ReadonlySet<string>;
}

/** The mixture the flags ask for (checked before any model loads), or null without --moa. */
export function moaPlan(o: MoaFlags, names: readonly string[]): Omit<MoaSettings, 'chat'> | null {
  if (!o.moa) {
    const stray = ['proposers', 'aggregator', 'moa-layers', 'aggregator-prompt'].find((f) => o.given.has(f));
    if (stray) throw new UsageError(`--${stray} needs --moa`);
    return null;
  }
  if (o.given.has('use')) throw new UsageError('--use picks one adapter; with --moa use --proposers and --aggregator');
  const proposers = parseProposers(o.proposers ?? names, names, o.seed);
  if (proposers.length === 0) throw new UsageError('--moa needs proposers: give --adapter folders or --proposers (e.g. base@0.7,base@1.0)');
  const template = o.aggregatorPrompt ?? DEFAULT_AGGREGATOR_TEMPLATE;
  const problem = templateProblem(template);
  if (problem) throw new UsageError(`--aggregator-prompt: ${problem}`);
  const aggregator = o.aggregator === undefined ? (names[0] ?? null) : pickAdapter('aggregator', o.aggregator, names);
  return { proposers, aggregator, layers: o.moaLayers === 2 ? 2 : 1, template };
}

const proposalJson = (p: Proposal) => ({ proposer: p.proposer, adapter: p.adapter, text: p.text, ids: p.ids });

/** Runs the mixture: proposals as they come and the aggregate streamed (people), or one JSON record. */
export async function runMoaCommand(
  session: Session, out: Output, question: string, s: MoaSettings, decoding: Omit<GenerateJobOptions, 'onToken'>,
): Promise<void> {
  let started = false;
  const r = await runMoa(session, question, s, decoding, {
    onProposal: (layer, p) => out.say(`[layer ${layer + 1}] ${p.proposer}: ${p.text.trim()}`),
    onToken: (t) => {
      if (out.json) return;
      if (!started) process.stdout.write(`[aggregate] ${s.aggregator ?? 'base'}: `);
      started = true;
      process.stdout.write(t.text);
    },
  });
  if (!out.json) process.stdout.write('\n');
  const f = r.final;
  out.record({
    layers: r.layers.map((l) => l.map(proposalJson)),
    aggregator: { adapter: s.aggregator, prompt: r.aggregatorPrompt },
    final: { ids: f.ids, text: f.text, stop_reason: f.stopReason, mean_logprob: f.meanLogprob, mean_entropy: f.meanEntropy },
  });
}
