/** The loaded model, its loading progress, cached Hub repos and the Hub base URL. */
import type { LoadProgress, LocalFile, ModelSource, ModelSummary } from '../../worker/api.ts';
import { initialHubBase, saveHubBase } from '../lib/hub.ts';
import { api, callback, errorMessage } from '../worker-client.ts';

const LAST_KEY = 'tabtune.lastModel';

export interface Loading {
  readonly label: string;
  readonly progress: LoadProgress | null;
}

class ModelStore {
  summary = $state.raw<ModelSummary | null>(null);
  loading = $state.raw<Loading | null>(null);
  error = $state<string | null>(null);
  cached = $state.raw<{ repo: string; revision: string; bytes: number }[]>([]);
  /** Hub origin for downloads; undefined means https://huggingface.co. */
  hubBase = $state<string | undefined>(initialHubBase());

  setHubBase(url: string | undefined): void {
    this.hubBase = saveHubBase(url);
  }

  /** A Hub source with the current base (omitted when it is the default, so sources compare equal). */
  hubSource(repo: string, revision: string): ModelSource {
    return this.hubBase ? { kind: 'hub', repo, revision, base: this.hubBase } : { kind: 'hub', repo, revision };
  }

  private queue: Promise<unknown> = Promise.resolve();

  /** Loads a model; a request made while another model loads waits for it, then runs. */
  load(source: ModelSource, files: readonly LocalFile[] | null = null, label = 'Loading'): Promise<ModelSummary | null> {
    const next = this.queue.then(() => this.loadNow(source, files, label));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async loadNow(source: ModelSource, files: readonly LocalFile[] | null, label: string): Promise<ModelSummary | null> {
    this.loading = { label, progress: null };
    this.error = null;
    let frame = 0;
    let latest: LoadProgress | null = null;
    const onProgress = callback((p: LoadProgress) => {
      latest = p;
      if (!frame) {
        frame = requestAnimationFrame(() => {
          frame = 0;
          if (this.loading) this.loading = { label, progress: latest };
        });
      }
    });
    try {
      this.summary = await api.loadModel(source, files, onProgress);
      if (source.kind === 'hub') void this.refreshCached();
      // Remembered for the next visit (a folder from disk cannot be reopened without the user).
      if (source.kind !== 'local') localStorage.setItem(LAST_KEY, JSON.stringify(source));
      return this.summary;
    } catch (e) {
      this.error = errorMessage(e);
      return null;
    } finally {
      cancelAnimationFrame(frame);
      this.loading = null;
    }
  }

  async refreshCached(): Promise<void> {
    try {
      this.cached = await api.cachedModels();
    } catch {
      this.cached = [];
    }
  }

  /**
   * At start-up: the last model again when it needs no download (the demo, or a Hub repo in the
   * browser cache), otherwise the offline demo model, so there is always a model to work with.
   */
  async restore(): Promise<void> {
    if (this.summary || this.loading) return;
    let last: ModelSource | null = null;
    try {
      last = JSON.parse(localStorage.getItem(LAST_KEY) ?? 'null') as ModelSource | null;
    } catch {
      last = null;
    }
    if (last?.kind === 'hub') {
      const hub = last;
      if (this.cached.some((c) => c.repo === hub.repo && c.revision === hub.revision)) {
        // Same origin as now (a mirror or ?hub= may have changed since).
        if (await this.load(this.hubSource(hub.repo, hub.revision), null, `Loading ${hub.repo} from the cache`)) return;
      }
    }
    await this.load({ kind: 'demo' }, null, 'Loading the demo model');
  }

  /** After a reload the Worker is new; ask it anyway (a model may be loaded in a kept Worker). */
  async sync(): Promise<void> {
    try {
      this.summary = await api.modelSummary();
    } catch {
      /* no GPU yet */
    }
  }
}

export const model = new ModelStore();

/** Two sources are the same model (the Worker compares them the same way). */
export function sameSource(a: ModelSource | null | undefined, b: ModelSource | null | undefined): boolean {
  if (!a || !b) return false;
  const strip = (s: ModelSource) => {
    const { name: _n, ...rest } = s as ModelSource & { name?: string };
    void _n;
    return JSON.stringify(rest);
  };
  return strip(a) === strip(b);
}

export function sourceLabel(s: ModelSource & { name?: string }): string {
  if (s.kind === 'demo') return 'offline demo model';
  if (s.kind === 'hub') return `${s.repo}@${s.revision}`;
  return `${s.name} (folder)`;
}
