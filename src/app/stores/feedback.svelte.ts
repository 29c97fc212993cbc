/**
 * The playground's feedback loop: 👍/👎 ratings, edits and side-by-side picks, stored by the
 * Worker in IndexedDB (core/workspace/feedback.ts, the serve log's record shape), and
 * "Turn feedback into a dataset" (a TRL preference or KTO dataset that remembers the rated run).
 */
import type { FeedbackFormat, GeneratedToken, PlaygroundFeedback, RatedAnswer, SamplingSettings } from '../../worker/api.ts';
import { saveFile } from '../lib/download.ts';
import { promptRequest, type PromptFormat } from '../lib/prompt-format.ts';
import { answerId, promptOf } from '../lib/feedback-answer.ts';
import { api, errorMessage } from '../worker-client.ts';
import { datasets } from './datasets.svelte.ts';
import { gpuTask, streamGenerate } from './evaluate.svelte.ts';
import { notices } from './notices.svelte.ts';
import { objective } from './objective.svelte.ts';

export interface SideAnswer {
  answer: RatedAnswer | null;
  tokens: GeneratedToken[];
  label: string;
}

class FeedbackStore {
  records = $state.raw<PlaygroundFeedback[]>([]);
  /** Side by side: two adapters (or one adapter sampled twice) on one prompt. */
  sidePrompt = $state('');
  sideA = $state<string | null>(null);
  sideB = $state<string | null>(null);
  /** Two samples of the A adapter instead of A against B. */
  twoSamples = $state(false);
  sides = $state<[SideAnswer, SideAnswer] | null>(null);
  /** The answer ids already picked (a pair is picked once). */
  picked = $state<string | null>(null);

  /** The latest rating or edit of each answer id (what the playground shows on it). */
  latest(id: string): { rating: number | null; preferred: string | null } {
    let rating: number | null = null;
    let preferred: string | null = null;
    for (const r of this.records) {
      if (r.id !== id) continue;
      rating = r.rating ?? rating;
      preferred = r.preferred ?? preferred;
    }
    return { rating, preferred };
  }

  /** Feedback records about a run's answers (null: the base model), as the dataset takes them. */
  countFor(runId: string | null): number {
    return this.records.filter((r) => r.adapter === runId || (r.action === 'pick' && r.preferred_adapter === runId)).length;
  }

  async refresh(): Promise<void> {
    const r = await notices.attempt('Feedback', () => api.listFeedback());
    if (r) this.records = r;
  }

  private async add(input: Parameters<typeof api.addFeedback>[0]): Promise<void> {
    const r = await notices.attempt('Save feedback', () => api.addFeedback(input));
    if (r) this.records = [...this.records, r];
  }

  rate(answer: RatedAnswer, rating: 1 | -1): Promise<void> {
    return this.add({ action: 'rating', answer: $state.snapshot(answer) as RatedAnswer, rating });
  }

  edit(answer: RatedAnswer, preferred: string): Promise<void> {
    return this.add({ action: 'edit', answer: $state.snapshot(answer) as RatedAnswer, preferred });
  }

  async pick(which: 0 | 1): Promise<void> {
    const s = this.sides;
    if (!s || !s[0].answer || !s[1].answer) return;
    const better = $state.snapshot(s[which].answer) as RatedAnswer;
    const worse = $state.snapshot(s[1 - which]!.answer) as RatedAnswer;
    await this.add({ action: 'pick', better, worse });
    this.picked = better.id;
  }

  /** Generates both answers of the side-by-side view, one after the other. */
  async generateSides(format: PromptFormat, sampling: SamplingSettings, names: (runId: string | null) => string): Promise<void> {
    const text = this.sidePrompt.trim();
    if (!text || gpuTask.label) return;
    const req = promptRequest(format, text);
    const runs: [string | null, string | null] = [this.sideA, this.twoSamples ? this.sideA : this.sideB];
    const sample = this.twoSamples ? { ...sampling, greedy: false } : sampling;
    this.picked = null;
    this.sides = [
      { answer: null, tokens: [], label: `A: ${names(runs[0])}` },
      { answer: null, tokens: [], label: `B: ${names(runs[1])}${this.twoSamples ? ' (another sample)' : ''}` },
    ];
    await gpuTask.run('Generating two answers', async () => {
      for (const i of [0, 1] as const) {
        const side = this.sides![i];
        // Two samples: seeds s and s + 1 (the same two answers again for the same settings).
        const seed = this.twoSamples ? (sample.seed ?? 0) + i : sample.seed;
        const r = await streamGenerate({ ...req, runId: runs[i], sampling: { ...sample, ...(seed !== undefined ? { seed } : {}) } }, (t) => {
          side.tokens.push(...t);
        });
        side.tokens = [...r.tokens];
        side.answer = { id: answerId(), prompt: promptOf(req), completion: r.text, adapter: runs[i] };
      }
    });
  }

  /** "Turn feedback into a dataset": selects the new dataset and the matching training method. */
  async makeDataset(runId: string | null, format: FeedbackFormat): Promise<boolean> {
    try {
      const ds = await api.feedbackDataset({ runId, format });
      await datasets.refresh();
      datasets.select(ds.id);
      objective.method = format === 'kto' ? 'kto' : 'dpo';
      notices.push('success', `${ds.name}: ${ds.records} ${format === 'kto' ? 'KTO examples' : 'preference pairs'}, selected for training`);
      return true;
    } catch (e) {
      notices.push('error', `Turn feedback into a dataset: ${errorMessage(e)}`);
      return false;
    }
  }

  async download(): Promise<void> {
    const f = await notices.attempt('Download feedback', () => api.exportFeedback());
    if (f) saveFile(f);
  }
}

export const feedback = new FeedbackStore();
