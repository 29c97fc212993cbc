/**
 * The classroom page's answers: three fixed prompts asked of the base model (once: it does not
 * change) and of the run's adapter every N steps while it trains. Uses the run's events and the
 * ordinary generate call; no training code of its own.
 */
import { DEMO_DATASET } from '../lib/demo.ts';
import { promptRequest, type PromptFormat } from '../lib/prompt-format.ts';
import { api } from '../worker-client.ts';
import { gpuTask } from './evaluate.svelte.ts';
import { training } from './training.svelte.ts';

const MAX_NEW_TOKENS = 24;

class ClassroomStore {
  prompts = $state<string[]>([...DEMO_DATASET.classroomPrompts]);
  /** Ask the fine-tuned model again every this many steps. */
  every = $state(10);
  base = $state<(string | null)[]>([null, null, null]);
  tuned = $state<(string | null)[]>([null, null, null]);
  /** The step the fine-tuned answers were made at. */
  tunedStep = $state<number | null>(null);
  /** What the base answers were made for (model, prompts, format): they are made again when it changes. */
  private baseKey = '';
  /** A refresh of the fine-tuned answers is under way (it pauses and resumes the run). */
  private tunedBusy = false;

  private async answers(runId: string | null, format: PromptFormat, label: string): Promise<string[] | undefined> {
    const prompts = [...this.prompts];
    return gpuTask.run(label, async () => {
      const out: string[] = [];
      for (const p of prompts) {
        const r = await api.generate({ ...promptRequest(format, p), runId, sampling: { maxNewTokens: MAX_NEW_TOKENS, greedy: true } });
        out.push(r.text.trim());
      }
      return out;
    });
  }

  baseNeeded(modelName: string, format: PromptFormat): boolean {
    return this.baseKey !== `${modelName}|${format}|${this.prompts.join('\n')}`;
  }

  /** The base model's answers (only while nothing trains: during a run the Worker's model holds its adapter). */
  async refreshBase(modelName: string, format: PromptFormat): Promise<void> {
    // Claimed before the answers come, so the page does not ask a second time meanwhile.
    this.baseKey = `${modelName}|${format}|${this.prompts.join('\n')}`;
    const a = await this.answers(null, format, 'Classroom: base answers');
    if (a) this.base = a;
  }

  /**
   * The run's adapter answers. A running run is paused for it (after its current step) and then
   * resumed: answers squeezed between training steps would wait behind each one on the GPU.
   */
  async refreshTuned(runId: string, step: number, format: PromptFormat): Promise<void> {
    if (this.tunedBusy) return;
    this.tunedBusy = true;
    const pause = training.runId === runId && training.state === 'running';
    if (pause) await training.pause();
    try {
      const a = await this.answers(runId, format, 'Classroom: fine-tuned answers');
      if (a) {
        this.tuned = a;
        this.tunedStep = step;
      }
    } finally {
      if (pause && training.state === 'paused') await training.resume();
      this.tunedBusy = false;
    }
  }

  setPrompt(i: number, text: string): void {
    this.prompts[i] = text;
    this.tuned = [null, null, null];
    this.tunedStep = null;
  }
}

export const classroom = new ClassroomStore();
