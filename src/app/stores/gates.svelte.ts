/** Learned adapter gates (the Worker's workspace/adapter-gates.ts): the card's form, training, the saved list. */
import type { GateEstimate, GateSummary } from '../../worker/api.ts';
import { saveFile } from '../lib/download.ts';
import { api, callback, errorMessage } from '../worker-client.ts';
import { gpuTask } from './evaluate.svelte.ts';
import { notices } from './notices.svelte.ts';

class GatesStore {
  list = $state.raw<GateSummary[]>([]);
  /** The runs whose adapters the next gate mixes, in gate order. */
  runIds = $state<string[]>([]);
  datasetId = $state<string | null>(null);
  name = $state('');
  // train-gate's defaults (1e-2 did best on the demo).
  steps = $state(40);
  batch = $state(4);
  lr = $state(1e-2);
  estimate = $state.raw<GateEstimate | null>(null);
  /** Why there is no estimate (the Worker's one-line refusal), if any. */
  problem = $state<string | null>(null);
  /** Loss of each step of the gate training now. */
  losses = $state<number[]>([]);
  training = $state(false);
  /** The saved gate the playground answers with. */
  selectedId = $state<string | null>(null);

  async refresh(): Promise<void> {
    try {
      this.list = await api.listGates();
      if (!this.list.some((g) => g.id === this.selectedId)) this.selectedId = this.list[0]?.id ?? null;
    } catch (e) {
      notices.push('error', `Could not read the stored gates: ${errorMessage(e)}`);
    }
  }

  /** The saved gates over the loaded model (the others need their own base loaded). */
  forModel(name: string | undefined): GateSummary[] {
    return this.list.filter((g) => g.model === name);
  }

  toggle(runId: string, on: boolean): void {
    this.runIds = on ? [...this.runIds.filter((x) => x !== runId), runId] : this.runIds.filter((x) => x !== runId);
  }

  /** Asks the Worker for the memory of training this gate (and for its refusal, if the adapters cannot mix). */
  async updateEstimate(): Promise<void> {
    const { runIds, datasetId, batch } = this;
    if (runIds.length < 2 || !datasetId || !(batch >= 1)) {
      this.estimate = null;
      this.problem = null;
      return;
    }
    try {
      this.estimate = await api.estimateGate({ runIds: [...runIds], datasetId, batch });
      this.problem = null;
    } catch (e) {
      this.estimate = null;
      this.problem = errorMessage(e);
    }
  }

  async train(): Promise<void> {
    const datasetId = this.datasetId;
    if (!datasetId || this.training) return;
    const req = { name: this.name, runIds: [...this.runIds], datasetId, steps: this.steps, batch: this.batch, lr: this.lr };
    this.training = true;
    this.losses = [];
    try {
      const gate = await gpuTask.run('Training a gate', (progress) =>
        api.trainGate(req, callback((step: number, loss: number) => {
          this.losses = [...this.losses, loss];
          progress(step, req.steps);
        })), req.steps);
      if (gate) {
        await this.refresh();
        this.selectedId = gate.id;
        notices.push('success', `Gate "${gate.name}" trained: loss ${gate.losses[0]!.toFixed(3)} → ${gate.losses.at(-1)!.toFixed(3)}`);
      }
    } finally {
      this.training = false;
    }
  }

  async download(id: string): Promise<void> {
    await notices.attempt('Download the gate', async () => saveFile(await api.exportGate(id)));
  }

  async remove(id: string): Promise<void> {
    await notices.attempt('Delete the gate', () => api.deleteGate(id));
    await this.refresh();
  }
}

export const gates = new GatesStore();
