/**
 * The Workbench's datasets concern beyond storage: a dataset's current version tokenized with the
 * loaded model's tokenizer and split (kept while nothing changes), its preview, and preparation.
 */
import { configFromForm, prepareDataset, type PrepareForm } from '../data/prepare/pipeline.ts';
import { renderReport } from '../data/prepare/report.ts';
import { trainingData, type TrainingData } from '../pipeline/training-data.ts';
import type { DatasetPreview, PreparedVersion } from './api.ts';
import type { DatasetLibrary, DatasetMeta } from './datasets.ts';
import type { ModelHost } from './model-host.ts';
import { plainEqual } from './plain-equal.ts';
import { previewRows } from './preview.ts';

export class TokenizedDatasets {
  private cache: { meta: DatasetMeta; tokenizer: string; data: TrainingData } | null = null;

  constructor(
    private readonly datasets: DatasetLibrary,
    private readonly host: ModelHost,
  ) {}

  /** Forget the tokenized data (a model, option or version changed). */
  invalidate(): void {
    this.cache = null;
  }

  /** Tokenized examples and split of a dataset's current version with the loaded tokenizer. */
  async data(meta: DatasetMeta): Promise<TrainingData> {
    const s = await this.host.requireModel();
    const tok = s.requireTokenizer();
    const c = this.cache;
    const same = c && c.tokenizer === tok.name && c.meta.id === meta.id && c.meta.currentVersion === meta.currentVersion && c.meta.hash === meta.hash;
    if (same && plainEqual(c.meta.options, meta.options)) return c.data;
    const data = trainingData(await this.datasets.records(meta.id), tok, s.requireModel().cfg, meta.options);
    this.cache = { meta, tokenizer: tok.name, data };
    return data;
  }

  async preview(id: string, offset: number, count: number): Promise<DatasetPreview> {
    const meta = await this.datasets.get(id);
    const records = await this.datasets.records(id);
    const data = await this.data(meta);
    const tok = (await this.host.requireModel()).requireTokenizer();
    const rows = previewRows(records, data, tok, offset, count);
    const { split } = data;
    return {
      rows, total: data.examples.length, stats: data.stats, train: split.train.length, validation: split.validation.length,
      problems: data.problems.slice(0, 200),
    };
  }

  /** Data preparation (the Data view's Prepare form) stored as a new dataset version. */
  async prepare(
    id: string, form: PrepareForm, onProgress?: (step: string, done: number, total: number) => void,
  ): Promise<PreparedVersion> {
    const meta = await this.datasets.get(id);
    const records = await this.datasets.records(id);
    const tok = this.host.loaded?.tokenizer ?? null;
    const config = configFromForm(form);
    const r = await prepareDataset(records, config, { countTokens: tok ? (t) => tok.encode(t).length : undefined, onProgress });
    const dataset = await this.datasets.addVersion(id, r.records, meta.currentVersion, config, r.report);
    this.invalidate();
    return { dataset, report: r.report, reportText: renderReport(r.report), generated: r.records.filter((x) => x.generated).length };
  }
}
