/**
 * The playground's mixture of agents: runs' adapters go to the GPU once over the loaded base
 * (switching between them reloads nothing), proposers answer, the aggregator writes the final
 * answer (pipeline/moa.ts, the path `tabtune generate --moa` takes).
 */
import { DEFAULT_AGGREGATOR_TEMPLATE, runMoa, type Proposal, type Proposer } from '../pipeline/moa.ts';
import type { GeneratedToken, MoaPlaygroundResult, MoaProposalResult, MoaRequest } from './api.ts';
import type { ModelHost } from './model-host.ts';

export class MoaPlayground {
  private abortController: AbortController | null = null;

  constructor(private readonly host: ModelHost) {}

  abort(): void {
    this.abortController?.abort();
  }

  async run(req: MoaRequest, onProposal?: (p: MoaProposalResult) => void, onToken?: (t: GeneratedToken) => void): Promise<MoaPlaygroundResult> {
    const abort = (this.abortController = new AbortController());
    // Detaches any single adapter (and refuses while a run trains), so the host's cache stays true.
    const s = await this.host.attachRunAdapter(null);
    try {
      const ids = [...new Set([...req.proposers.map((p) => p.runId), req.aggregatorRunId].filter((x): x is string => x !== null))];
      const files = [];
      for (const id of ids) files.push({ name: id, from: await this.host.runAdapter(id) });
      await s.loadAdapters(files);
      const proposers: Proposer[] = req.proposers.map((p, i) => ({
        name: String(i), adapter: p.runId,
        sampling: p.temperature === undefined ? {} : { greedy: false, temperature: p.temperature, seed: (req.sampling.seed ?? 0) + i },
      }));
      const proposals: MoaProposalResult[] = [];
      const toResult = (layer: number, p: Proposal): MoaProposalResult => ({ layer, index: Number(p.proposer), runId: p.adapter, text: p.text });
      const r = await runMoa(
        s, req.prompt,
        { proposers, aggregator: req.aggregatorRunId, layers: req.layers, template: req.template ?? DEFAULT_AGGREGATOR_TEMPLATE, chat: req.chat },
        { ...req.sampling, signal: abort.signal },
        {
          onProposal: (layer, p) => {
            proposals.push(toResult(layer, p));
            onProposal?.(toResult(layer, p));
          },
          onToken,
        },
      );
      return { proposals, aggregatorPrompt: r.aggregatorPrompt, text: r.final.text ?? '', tokens: r.final.tokens, stopReason: r.final.stopReason };
    } finally {
      s.dropAdapter();
      if (this.abortController === abort) this.abortController = null;
    }
  }
}
