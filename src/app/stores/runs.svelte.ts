/** Past runs (listRuns/getRun), the selection, and run details cached by update time. */
import type { RunDetail, RunSummary } from '../../worker/api.ts';
import { api, errorMessage } from '../worker-client.ts';
import { notices } from './notices.svelte.ts';

class RunsStore {
  list = $state.raw<RunSummary[]>([]);
  loaded = $state(false);
  /** Runs ticked for comparison (at most two). */
  compare = $state<string[]>([]);
  selectedId = $state<string | null>(null);
  /** The adapter imported last (the Export view offers to compare it or train on from it). */
  lastImportedId = $state<string | null>(null);
  private details = new Map<string, RunDetail>();

  get selected(): RunSummary | null {
    return this.list.find((r) => r.id === this.selectedId) ?? null;
  }

  /** Runs that stopped mid-way (tab closed, GPU lost) and can continue from their checkpoint. */
  get interrupted(): RunSummary[] {
    return this.list.filter((r) => r.state === 'interrupted' && r.hasCheckpoint);
  }

  /** Runs with an adapter to evaluate, chat with or export. */
  get withAdapter(): RunSummary[] {
    return this.list.filter((r) => r.hasAdapter || r.config?.method === 'full');
  }

  byId(id: string | null | undefined): RunSummary | null {
    return id ? (this.list.find((r) => r.id === id) ?? null) : null;
  }

  async refresh(): Promise<void> {
    try {
      this.list = (await api.listRuns()).sort((a, b) => b.createdAt - a.createdAt);
      this.compare = this.compare.filter((id) => this.list.some((r) => r.id === id));
      if (this.selectedId && !this.byId(this.selectedId)) this.selectedId = null;
    } catch (e) {
      notices.push('error', `Could not read the stored runs: ${errorMessage(e)}`);
    } finally {
      this.loaded = true;
    }
  }

  async detail(id: string): Promise<RunDetail | null> {
    const summary = this.byId(id);
    const hit = this.details.get(id);
    if (hit && summary && hit.updatedAt === summary.updatedAt && summary.state !== 'running') return hit;
    try {
      const d = await api.getRun(id);
      this.details.set(id, d);
      return d;
    } catch (e) {
      notices.push('error', `Could not read the run: ${errorMessage(e)}`);
      return null;
    }
  }

  toggleCompare(id: string): void {
    this.compare = this.compare.includes(id) ? this.compare.filter((x) => x !== id) : [...this.compare, id].slice(-2);
  }

  async remove(id: string): Promise<void> {
    try {
      await api.deleteRun(id);
      this.details.delete(id);
      this.list = this.list.filter((r) => r.id !== id);
      this.compare = this.compare.filter((x) => x !== id);
      if (this.selectedId === id) this.selectedId = null;
    } catch (e) {
      notices.push('error', `Could not delete the run: ${errorMessage(e)}`);
    }
  }

  upsert(r: RunSummary): void {
    this.list = this.list.some((x) => x.id === r.id) ? this.list.map((x) => (x.id === r.id ? r : x)) : [r, ...this.list];
  }
}

export const runs = new RunsStore();

/** The chain of runs a run continued from (itself first). */
export function lineage(list: readonly RunSummary[], id: string): RunSummary[] {
  const out: RunSummary[] = [];
  const seen = new Set<string>();
  let cur = list.find((r) => r.id === id);
  while (cur && !seen.has(cur.id)) {
    out.push(cur);
    seen.add(cur.id);
    cur = cur.parentRunId ? list.find((r) => r.id === cur!.parentRunId) : undefined;
  }
  return out;
}
