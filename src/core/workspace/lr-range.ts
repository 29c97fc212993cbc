/**
 * The Workbench's learning-rate range test (the app's "Find learning rate"): the core's sweep
 * (train/lr-finder.ts, as `tabtune train --find-lr`) over the rows a run with these settings would
 * train on. It trains nothing: a fresh adapter (or, for full fine-tuning, the weights as they were)
 * is left behind.
 */
import { splitExamples, trainingRows } from '../pipeline/training-data.ts';
import { trainConfig } from '../train/config.ts';
import { findLearningRate, type LrFinderResult, type LrPoint } from '../train/lr-finder.ts';
import type { RunSettings } from './api.ts';
import type { DatasetLibrary } from './datasets.ts';
import type { ModelHost } from './model-host.ts';
import type { TokenizedDatasets } from './tokenized-datasets.ts';
import { holdBase } from './base-holding.ts';

export class LrRangeTest {
  private busy = false;

  constructor(
    private readonly host: ModelHost,
    private readonly datasets: DatasetLibrary,
    private readonly tokenized: TokenizedDatasets,
    /** The run training now, if any (the sweep needs the GPU and the model to itself). */
    private readonly training: () => string | null,
  ) {}

  async run(settings: RunSettings, onPoint?: (p: LrPoint) => void): Promise<LrFinderResult> {
    if (this.training()) throw new Error('a run is training: find the learning rate before starting it, or stop it first');
    if (this.busy) throw new Error('a learning-rate range test is already running');
    this.busy = true;
    try {
      const s = await this.host.requireModel();
      const meta = await this.datasets.get(settings.datasetId);
      const data = await this.tokenized.data(meta);
      if (data.examples.length === 0) throw new Error(`dataset ${meta.name} has no usable examples with this model's tokenizer`);
      const config = trainConfig(settings.config);
      await holdBase(s, this.host.files, config);
      const rows = trainingRows(splitExamples(data), s.requireModel().cfg, s.padTokenId(), meta.options);
      if (config.method === 'lora') {
        // The sweep trains a fresh adapter (and puts it back as it was); a run's adapter is loaded again when needed.
        s.newAdapter(config.lora, config.seed);
        this.host.adapterOf = null;
      }
      return await findLearningRate(s.requireModel(), { config, seq: rows.seq, train: rows.train, onPoint });
    } finally {
      this.busy = false;
    }
  }
}
