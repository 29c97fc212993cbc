/** Datasets (owned by the Worker, stored in IndexedDB): the list, the selected one, its preview. */
import type { DatasetOptions, DatasetPreview, DatasetSummary } from '../../worker/api.ts';
import type { PrepareForm } from '../../core/data/prepare/pipeline.ts';
import { DEMO_DATASET } from '../lib/demo.ts';
import { fileBytes } from '../lib/files.ts';
import { redactReport } from '../lib/report-redaction.ts';
import type { QualityReport } from '../../core/data/prepare/report.ts';
import { api, callback, errorMessage, moved } from '../worker-client.ts';
import { notices } from './notices.svelte.ts';

export const PREVIEW_PAGE = 8;

// Mirrors DEFAULT_PREPARE (core/data/prepare/pipeline.ts): clean, exact + near (0.7) dedup, mask personal data.
export const DEFAULT_PREPARE_FORM: PrepareForm = {
  clean: true, minTokens: 0, maxTokens: 0, scripts: '', exactDedup: true, nearDedup: true, nearThreshold: 0.7,
  pii: 'mask', blocklist: '', blocklistAction: 'flag', balanceField: '', balanceMode: 'none', balanceCap: 100, seed: 42,
};
const SELECTED_KEY = 'tabtune.dataset';

export interface PrepareOutcome {
  readonly report: unknown;
  readonly reportText: string;
  readonly generated: number;
  readonly before: number;
  readonly after: number;
}

class DatasetsStore {
  list = $state.raw<DatasetSummary[]>([]);
  selectedId = $state<string | null>(localStorage.getItem(SELECTED_KEY));
  preview = $state.raw<DatasetPreview | null>(null);
  previewError = $state<string | null>(null);
  previewLoading = $state(false);
  offset = $state(0);
  importing = $state<string | null>(null);
  preparing = $state<{ step: string; done: number; total: number } | null>(null);
  prepared = $state.raw<PrepareOutcome | null>(null);
  loaded = $state(false);
  /** The Prepare form (kept while switching views). */
  prepareForm = $state<PrepareForm>({ ...DEFAULT_PREPARE_FORM });

  get selected(): DatasetSummary | null {
    return this.list.find((d) => d.id === this.selectedId) ?? null;
  }

  async refresh(): Promise<void> {
    try {
      this.list = await api.listDatasets();
      if (!this.list.some((d) => d.id === this.selectedId)) this.select(this.list[0]?.id ?? null);
    } catch (e) {
      notices.push('error', `Could not read the stored datasets: ${errorMessage(e)}`);
    } finally {
      this.loaded = true;
    }
  }

  select(id: string | null): void {
    if (id === this.selectedId && this.preview) return;
    this.selectedId = id;
    this.preview = null;
    this.prepared = null;
    this.offset = 0;
    if (id) localStorage.setItem(SELECTED_KEY, id);
    else localStorage.removeItem(SELECTED_KEY);
  }

  private replace(d: DatasetSummary): void {
    this.list = this.list.some((x) => x.id === d.id) ? this.list.map((x) => (x.id === d.id ? d : x)) : [d, ...this.list];
  }

  async importFiles(files: readonly File[], options: Partial<DatasetOptions> = {}): Promise<DatasetSummary | null> {
    let last: DatasetSummary | null = null;
    for (const f of files) {
      this.importing = f.name;
      try {
        const d = await api.importDataset(f.name, moved(await fileBytes(f)), options);
        this.replace(d);
        last = d;
        notices.push('success', `Imported ${f.name}: ${d.records.toLocaleString('en-US')} records${d.problemCount ? `, ${d.problemCount} problems` : ''}`);
      } catch (e) {
        notices.push('error', `Could not import ${f.name}: ${errorMessage(e)}`);
      }
    }
    this.importing = null;
    if (last) this.select(last.id);
    return last;
  }

  /** Raw documents (.txt, .md, .jsonl text) as one dataset for continued pre-training. */
  async importDocuments(files: readonly File[]): Promise<void> {
    this.importing = files.map((f) => f.name).join(', ');
    try {
      const read = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: await fileBytes(f) })));
      const d = await api.importDocuments(read);
      this.replace(d);
      this.select(d.id);
      notices.push('success', `Imported ${d.records.toLocaleString('en-US')} documents from ${files.length} file${files.length > 1 ? 's' : ''}`);
    } catch (e) {
      notices.push('error', `Could not import the documents: ${errorMessage(e)}`);
    } finally {
      this.importing = null;
    }
  }

  /**
   * The app's offline demo task (served with the app, cached by the service worker): its held-out
   * questions first, then the training questions, which end up selected.
   */
  async importDemo(): Promise<void> {
    this.importing = DEMO_DATASET.name;
    try {
      const files: File[] = [];
      for (const f of [DEMO_DATASET.heldOut, DEMO_DATASET]) {
        const res = await fetch(new URL(f.path, document.baseURI));
        if (!res.ok) throw new Error(`${f.path}: HTTP ${res.status}`);
        files.push(new File([await res.blob()], f.name));
      }
      this.importing = null;
      await this.importFiles(files, DEMO_DATASET.options);
    } catch (e) {
      notices.push('error', `Could not load the demo dataset: ${errorMessage(e)}`);
    } finally {
      this.importing = null;
    }
  }

  async updateOptions(options: Partial<DatasetOptions>): Promise<void> {
    const id = this.selectedId;
    if (!id) return;
    try {
      this.replace(await api.updateDatasetOptions(id, options));
      await this.loadPreview();
    } catch (e) {
      notices.push('error', `Could not change the dataset options: ${errorMessage(e)}`);
    }
  }

  async setVersion(version: number): Promise<void> {
    const id = this.selectedId;
    if (!id) return;
    try {
      this.replace(await api.setDatasetVersion(id, version));
      await this.loadPreview();
    } catch (e) {
      notices.push('error', `Could not switch versions: ${errorMessage(e)}`);
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await api.deleteDataset(id);
      this.list = this.list.filter((d) => d.id !== id);
      if (this.selectedId === id) this.select(this.list[0]?.id ?? null);
    } catch (e) {
      notices.push('error', `Could not delete the dataset: ${errorMessage(e)}`);
    }
  }

  /** Tokenized rows as the model sees them (needs a loaded model for its tokenizer). */
  async loadPreview(offset = this.offset): Promise<void> {
    const id = this.selectedId;
    if (!id) return;
    this.previewLoading = true;
    try {
      const p = await api.previewDataset(id, offset, PREVIEW_PAGE);
      if (this.selectedId !== id) return;
      this.preview = p;
      this.offset = offset;
      this.previewError = null;
    } catch (e) {
      if (this.selectedId === id) {
        this.preview = null;
        this.previewError = errorMessage(e);
      }
    } finally {
      this.previewLoading = false;
    }
  }

  async prepare(config: PrepareForm): Promise<void> {
    const d = this.selected;
    if (!d || this.preparing) return;
    this.preparing = { step: 'starting', done: 0, total: d.records };
    this.prepared = null;
    let frame = 0;
    let latest = this.preparing;
    const onProgress = callback((step: string, done: number, total: number) => {
      latest = { step, done, total };
      if (!frame) frame = requestAnimationFrame(() => ((frame = 0), (this.preparing = latest)));
    });
    try {
      const r = await api.prepareDataset(d.id, config, onProgress);
      this.replace(r.dataset);
      // With masking on, the report shows no personal data either (not in examples, flags or text).
      const shown = (config as PrepareForm).pii === 'mask' ? redactReport(r.report as QualityReport, r.reportText) : { report: r.report, text: r.reportText };
      this.prepared = { report: shown.report, reportText: shown.text, generated: r.generated, before: d.records, after: r.dataset.records };
      notices.push('success', `Prepared ${d.name}: version ${r.dataset.currentVersion}, ${r.dataset.records.toLocaleString('en-US')} records`);
      await this.loadPreview(0);
    } catch (e) {
      notices.push('error', `Preparation failed: ${errorMessage(e)}`);
    } finally {
      cancelAnimationFrame(frame);
      this.preparing = null;
    }
  }
}

export const datasets = new DatasetsStore();
