/**
 * "Find learning rate": the Worker's range test for the form's settings on the selected dataset,
 * its points as they come (for the plot) and the suggestion, which the user may apply.
 */
import type { LrFinderResult, LrPoint } from '../../worker/api.ts';
import { api, callback } from '../worker-client.ts';
import { datasets } from './datasets.svelte.ts';
import { gpuTask } from './evaluate.svelte.ts';
import { model } from './model.svelte.ts';
import { settings } from './settings.svelte.ts';

class LrFinderStore {
  points = $state.raw<LrPoint[]>([]);
  result = $state.raw<LrFinderResult | null>(null);
  /** Bumped as points arrive; the plot redraws on it. */
  tick = $state(0);

  get running(): boolean {
    return gpuTask.label === LABEL;
  }

  /** The suggestion rounded to two significant digits, as it goes into the form. */
  get suggestion(): number | null {
    return this.result ? Number(this.result.suggested.toPrecision(2)) : null;
  }

  async run(): Promise<void> {
    const ds = datasets.selected;
    if (!ds || gpuTask.label) return;
    this.points = [];
    this.result = null;
    this.tick++;
    const request = settings.runSettings(model.summary, ds.id);
    const r = await gpuTask.run(LABEL, () =>
      api.findLearningRate(request, callback((p: LrPoint) => {
        this.points = [...this.points, p];
        this.tick++;
      })),
    );
    if (r) this.result = r;
    this.tick++;
  }

  apply(): void {
    if (this.suggestion !== null) settings.form.lr = this.suggestion;
  }
}

const LABEL = 'Finding the learning rate';

export const lrFinder = new LrFinderStore();
