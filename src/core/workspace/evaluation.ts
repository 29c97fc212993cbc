/**
 * The Workbench's evaluation concern: scoring a dataset split with a run's adapter (or the base
 * model) and the playground's streamed generation, both through the core's one path.
 */
import { evaluate } from '../eval/report.ts';
import { generateText } from '../pipeline/generate.ts';
import type { EvalReport, EvalRequest, GeneratedToken, GenerateRequest, GenerateResult } from './api.ts';
import type { DatasetLibrary } from './datasets.ts';
import type { ModelHost } from './model-host.ts';
import type { TokenizedDatasets } from './tokenized-datasets.ts';

/** Answers generated at most per evaluation (greedy, one at a time). */
const MAX_GENERATED = 20;

export class Evaluation {
  private generation: AbortController | null = null;
  /** Evaluations and generations under way: each holds the session's generator until it ends. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly host: ModelHost,
    private readonly datasets: DatasetLibrary,
    private readonly tokenized: TokenizedDatasets,
  ) {}

  evaluate(req: EvalRequest, onProgress?: (done: number, total: number) => void): Promise<EvalReport> {
    return this.track(this.evaluateNow(req, onProgress));
  }

  generate(req: GenerateRequest, onToken?: (t: GeneratedToken) => void): Promise<GenerateResult> {
    return this.track(this.generateNow(req, onToken));
  }

  abort(): void {
    this.generation?.abort();
  }

  /**
   * Stops whatever is streaming and waits until it has let go of the model: a run that starts
   * swaps the adapter and frees the generator a streaming answer is still reading.
   */
  async cancel(): Promise<void> {
    this.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }

  private async evaluateNow(req: EvalRequest, onProgress?: (done: number, total: number) => void): Promise<EvalReport> {
    // abort() cancels an evaluation too, from the moment it is asked for.
    const abort = (this.generation = new AbortController());
    try {
      const meta = await this.datasets.get(req.datasetId);
      const data = await this.tokenized.data(meta);
      const idx = req.split === 'train' ? data.split.train : req.split === 'validation' ? data.split.validation : data.examples.map((_, i) => i);
      if (idx.length === 0) throw new Error(`the ${req.split} split of ${meta.name} is empty (set a validation fraction in the Data view)`);
      const items = idx.slice(0, req.maxExamples ?? idx.length).map((i) => data.examples[i]!);
      const s = await this.host.attachRunAdapter(req.runId);
      const generate = req.generate ? Math.min(items.length, MAX_GENERATED) : 0;
      return await evaluate(s, items, { generate, runId: req.runId, onProgress, signal: abort.signal });
    } finally {
      if (this.generation === abort) this.generation = null;
    }
  }

  private async generateNow(req: GenerateRequest, onToken?: (t: GeneratedToken) => void): Promise<GenerateResult> {
    // Set before the adapter is attached, so a cancel while attaching stops it too.
    const abort = (this.generation = new AbortController());
    try {
      const s = await this.host.attachRunAdapter(req.runId);
      const prompt = req.messages ? { messages: req.messages } : { text: req.prompt ?? '' };
      const g = await generateText(s, prompt, { ...req.sampling, signal: abort.signal, onToken });
      return { text: g.text ?? '', tokens: g.tokens, stopReason: g.stopReason, meanLogprob: g.meanLogprob };
    } finally {
      if (this.generation === abort) this.generation = null;
    }
  }
}
