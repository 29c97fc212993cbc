import { zipSync } from 'fflate';
import { memoryTree, type FileTree } from '../formats/bytes.ts';
import { linearModules, resolveTargets } from '../formats/peft.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { evaluate } from '../eval/report.ts';
import { estimateTrainingMemory } from '../model/memory.ts';
import { readPeftAdapter } from '../model/lora.ts';
import { kernelSelfTest } from '../selftest/kernels.ts';
import { Session } from '../session.ts';
import { trainConfig, type TrainConfig } from '../train/config.ts';
import type { TrainEvent } from '../train/events.ts';
import { runFiles } from '../train/run-files.ts';
import { Trainer, type Checkpoint } from '../train/trainer.ts';
import type {
  DatasetPreview, DatasetSummary, EvalReport, EvalRequest, ExportedFile, GenerateRequest, GenerateResult, GeneratedToken, GpuInfo,
  LoadProgress, LocalFile, MemoryEstimate, MemoryRequest, ModelSource, ModelSummary, PreviewRow, RunDetail, RunEvent, RunSettings,
  RunSummary, WorkerApi,
} from './api.ts';
import { configFromForm, prepareDataset, type PrepareForm } from '../data/prepare/pipeline.ts';
import { renderReport } from '../data/prepare/report.ts';
import { DatasetLibrary, type DatasetMeta, type DatasetOptions } from './datasets.ts';
import { previewRows } from './preview.ts';
import { runProgress, RunLibrary, type RunRecord } from './runs.ts';
import type { KeyValueStore } from './store.ts';
import { trainingData, trainingRows, type TrainingData } from './training-data.ts';

/** What the browser (or Node, in tests) provides to the workbench. */
export interface WorkbenchPlatform {
  acquireGpu(): Promise<Gpu>;
  readonly store: KeyValueStore;
  /** A model folder for a source: the app's demo files, a Hub download (cached), or the user's files. */
  openModel(source: ModelSource, files: readonly LocalFile[] | null, onProgress?: (p: LoadProgress) => void): Promise<FileTree>;
  cachedModels(): Promise<{ repo: string; revision: string; bytes: number }[]>;
  localTree(name: string, files: readonly LocalFile[]): FileTree;
}

interface ActiveRun {
  readonly id: string;
  readonly trainer: Trainer;
  readonly done: Promise<void>;
}

/** Checkpoints every this many steps when the run's settings ask for none, so a reload loses little. */
const DEFAULT_CHECKPOINT_STEPS = 10;
/** Run records are persisted at most this often while training (and on every eval/checkpoint/state). */
const PERSIST_MS = 2000;

/**
 * The Worker's API on top of a Session: models, datasets, runs, evaluation, generation and export.
 * Platform-free, so Node tests drive exactly what the browser Worker runs.
 */
export class Workbench implements WorkerApi {
  private gpu: Gpu | null = null;
  private session: Session | null = null;
  private source: ModelSource | null = null;
  private tree: FileTree | null = null;
  private active: ActiveRun | null = null;
  /** The run whose adapter the session holds (null: none or a fresh one). */
  private adapterOf: string | null = null;
  private readonly datasets: DatasetLibrary;
  private readonly runs: RunLibrary;
  private dataCache: { key: string; data: TrainingData } | null = null;
  private generation: AbortController | null = null;

  constructor(private readonly platform: WorkbenchPlatform) {
    this.datasets = new DatasetLibrary(platform.store);
    this.runs = new RunLibrary(platform.store);
  }

  private async requireGpu(): Promise<Gpu> {
    if (this.gpu?.isLost) {
      this.session = null;
      this.gpu = null;
    }
    if (!this.gpu) {
      this.gpu = await this.platform.acquireGpu();
      this.gpu.onLost(() => this.active?.trainer.stop());
    }
    return this.gpu;
  }

  private async requireSession(): Promise<Session> {
    const gpu = await this.requireGpu();
    if (!this.session) {
      this.session = new Session(gpu);
      // After a device loss the model is loaded again from where it came from.
      if (this.tree) await this.session.loadModel(this.tree);
    }
    return this.session;
  }

  private async requireModel(): Promise<Session> {
    const s = await this.requireSession();
    if (!s.model) throw new Error('load a model first (Model view)');
    return s;
  }

  async init(): Promise<GpuInfo> {
    const g = await this.requireGpu();
    const limits: Record<string, number> = {};
    for (const k in g.limits) {
      const v = (g.limits as unknown as Record<string, unknown>)[k];
      if (typeof v === 'number') limits[k] = v;
    }
    return { adapter: g.adapter, limits, features: [...g.features] };
  }

  async selfTest() {
    return kernelSelfTest(await this.requireGpu());
  }

  // ---- models

  async loadModel(source: ModelSource, files: readonly LocalFile[] | null, onProgress?: (p: LoadProgress) => void): Promise<ModelSummary> {
    if (this.active) throw new Error('stop the running training before loading another model');
    const tree = await this.platform.openModel(source, files, onProgress);
    const s = await this.requireSession();
    await s.loadModel(tree, (done, total) => onProgress?.({ phase: 'load', done, total }));
    this.source = source;
    this.tree = tree;
    this.adapterOf = null;
    this.dataCache = null;
    return this.summary(s);
  }

  async modelSummary(): Promise<ModelSummary | null> {
    return this.session?.model ? this.summary(this.session) : null;
  }

  private summary(s: Session): ModelSummary {
    const info = s.info();
    const c = info.config;
    return {
      source: this.source!, name: info.name, arch: c.arch, parameters: info.parameters, layers: c.layers, hidden: c.hidden, heads: c.heads,
      kvHeads: c.kvHeads, vocabSize: c.vocabSize, maxPositions: c.maxPositions, dtype: c.dtype, hasChatTemplate: info.hasChatTemplate,
      linearModules: linearModules(c.arch).map((m) => {
        const f = m.features(c);
        return { id: m.id, name: m.name, in: f.in, out: f.out, paramsPerRank: f.in + f.out };
      }),
      warnings: c.warnings,
    };
  }

  cachedModels() {
    return this.platform.cachedModels();
  }

  async estimateMemory(req: MemoryRequest): Promise<MemoryEstimate> {
    const s = await this.requireModel();
    const cfg = s.requireModel().cfg;
    const gpu = await this.requireGpu();
    const targets = resolveTargets(cfg.arch, req.targets === 'all-linear' ? 'all-linear' : [...req.targets]);
    const modules = linearModules(cfg.arch).filter((m) => targets.includes(m.id)).map((m) => m.features(cfg));
    const parts = estimateTrainingMemory(cfg, { ...req, loraModules: modules, loraDropout: 0.05, validation: true });
    const problems: string[] = [];
    const T = req.batch * req.seq;
    const widest = Math.max(cfg.hidden, cfg.intermediate * 2, cfg.heads * cfg.headDim + 2 * cfg.kvHeads * cfg.headDim);
    if (T * widest * 4 > gpu.limits.maxStorageBufferBindingSize) problems.push(`a batch of ${T} tokens needs activation buffers over the GPU's ${(gpu.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB binding limit: lower batch × sequence`);
    const total = Object.values(parts).reduce((a, b) => a + b, 0);
    return { parts, total, maxBufferSize: gpu.limits.maxBufferSize, maxStorageBufferBindingSize: gpu.limits.maxStorageBufferBindingSize, fits: problems.length === 0, problems };
  }

  // ---- datasets

  importDataset(name: string, bytes: Uint8Array, options?: Partial<DatasetOptions>): Promise<DatasetSummary> {
    return this.datasets.import(name, bytes, options);
  }

  listDatasets(): Promise<DatasetSummary[]> {
    return this.datasets.list();
  }

  async updateDatasetOptions(id: string, options: Partial<DatasetOptions>): Promise<DatasetSummary> {
    this.dataCache = null;
    return this.datasets.updateOptions(id, options);
  }

  async deleteDataset(id: string): Promise<void> {
    this.dataCache = null;
    await this.datasets.delete(id);
  }

  async setDatasetVersion(id: string, version: number): Promise<DatasetSummary> {
    this.dataCache = null;
    return this.datasets.setVersion(id, version);
  }

  /** Tokenized examples and split of a dataset's current version with the loaded tokenizer. */
  private async data(meta: DatasetMeta): Promise<TrainingData> {
    const s = await this.requireModel();
    const tok = s.requireTokenizer();
    const key = `${meta.id}:${meta.currentVersion}:${meta.hash}:${JSON.stringify(meta.options)}:${tok.name}`;
    if (this.dataCache?.key === key) return this.dataCache.data;
    const data = trainingData(await this.datasets.records(meta.id), tok, meta.options);
    this.dataCache = { key, data };
    return data;
  }

  async previewDataset(id: string, offset: number, count: number): Promise<DatasetPreview> {
    const meta = await this.datasets.get(id);
    const records = await this.datasets.records(id);
    const data = await this.data(meta);
    const tok = this.session!.requireTokenizer();
    const rows: PreviewRow[] = previewRows(records, data, tok, offset, count);
    return { rows, total: data.examples.length, stats: data.stats, train: data.split.train.length, validation: data.split.validation.length, problems: data.problems.slice(0, 200) };
  }

  /** Data preparation (the Data view's Prepare form) stored as a new dataset version. */
  async prepareDataset(id: string, config: unknown, onProgress?: (step: string, done: number, total: number) => void) {
    const meta = await this.datasets.get(id);
    const records = await this.datasets.records(id);
    const tok = this.session?.tokenizer ?? null;
    const prepareConfig = configFromForm(config as PrepareForm);
    const r = await prepareDataset(records, prepareConfig, { countTokens: tok ? (t) => tok.encode(t).length : undefined, onProgress });
    const dataset = await this.datasets.addVersion(id, r.records, meta.currentVersion, prepareConfig, r.report);
    this.dataCache = null;
    return { dataset, report: r.report, reportText: renderReport(r.report), generated: r.records.filter((x) => x.generated).length };
  }

  // ---- runs

  async startRun(settings: RunSettings, onEvent: (e: RunEvent) => void): Promise<string> {
    if (this.active) throw new Error('a run is already active; stop it first');
    const s = await this.requireModel();
    const meta = await this.datasets.get(settings.datasetId);
    const config = trainConfig(settings.config);
    const run = await this.runs.create({
      name: settings.name?.trim() || `${meta.name} · ${config.method === 'lora' ? `LoRA r${config.lora.r}` : 'full'}`,
      state: 'running', model: { name: s.info().name, source: this.source }, dataset: { id: meta.id, name: meta.name, version: meta.currentVersion, hash: meta.hash, options: meta.options },
      config, seq: 0, totalSteps: 0, ...(settings.initRunId ? { parentRunId: settings.initRunId } : {}),
    });
    if (config.method === 'lora') {
      if (settings.initRunId) await this.attachRunAdapter(settings.initRunId);
      else s.newAdapter(config.lora, config.seed);
    } else {
      s.dropAdapter();
    }
    this.adapterOf = run.id;
    await this.launch(run, config, undefined, onEvent);
    return run.id;
  }

  async continueRun(runId: string, onEvent: (e: RunEvent) => void): Promise<void> {
    if (this.active) throw new Error('a run is already active; stop it first');
    const run = await this.runs.get(runId);
    const checkpoint = await this.runs.checkpoint(runId);
    if (!checkpoint || !run.config || !run.dataset) throw new Error(`run "${run.name}" has no checkpoint to continue from`);
    const s = await this.requireModel();
    if (JSON.stringify(this.source) !== JSON.stringify(run.model.source)) throw new Error(`load the run's model first (${run.model.name})`);
    const meta = await this.datasets.get(run.dataset.id);
    if (meta.currentVersion !== run.dataset.version || JSON.stringify(meta.options) !== JSON.stringify(run.dataset.options)) {
      await this.datasets.updateOptions(meta.id, run.dataset.options);
      await this.datasets.setVersion(meta.id, run.dataset.version);
    }
    if (run.config.method === 'lora') s.newAdapter(run.config.lora, run.config.seed);
    this.adapterOf = run.id;
    await this.launch(run, run.config, checkpoint, onEvent);
  }

  private async launch(run: RunRecord, config: TrainConfig, resume: Checkpoint | undefined, onEvent: (e: RunEvent) => void): Promise<void> {
    const s = await this.requireModel();
    const meta = await this.datasets.get(run.dataset!.id);
    const data = await this.data(meta);
    if (data.examples.length === 0) throw new Error(`dataset ${meta.name} has no usable examples with this model's tokenizer (${data.problems[0]?.reason ?? 'empty'})`);
    const rows = trainingRows(data, s.requireModel().cfg, meta.options);
    const events: TrainEvent[] = [...(resume?.state.history ?? [])];
    let lastPersist = 0;
    const persist = async (force: boolean) => {
      if (!force && Date.now() - lastPersist < PERSIST_MS) return;
      lastPersist = Date.now();
      await this.runs.update(run.id, { events: [...events], ...runProgress(events) });
    };
    const saveEvery = config.saveEvery || DEFAULT_CHECKPOINT_STEPS;
    const trainer = await Trainer.create({
      model: s.requireModel(), config: { ...config, saveEvery }, seq: rows.seq, train: rows.train, validation: rows.validation.length ? rows.validation : undefined, resume,
      onEvent: (e) => {
        // The final state is announced after the run's files are saved (below).
        if (e.type === 'state' && e.state !== 'running' && e.state !== 'paused') return;
        if (e.type !== 'state') events.push(e);
        onEvent({ ...e, runId: run.id });
        void persist(e.type !== 'step').catch(() => undefined);
      },
      onCheckpoint: async (c) => {
        try {
          await this.runs.saveCheckpoint(run.id, c);
          if (config.method === 'lora') await this.runs.saveFiles(run.id, await s.saveAdapter());
          await this.runs.update(run.id, { hasCheckpoint: true, hasAdapter: config.method === 'lora' });
        } catch (e) {
          // Storage full: the run goes on; the alert says what to do.
          onEvent({ type: 'alert', level: 'warning', step: c.state.step, message: (e as Error).message, runId: run.id });
        }
      },
    });
    await this.runs.update(run.id, { state: 'running', seq: rows.seq, totalSteps: trainer.totalSteps });
    const done = trainer.run().then(async (summary) => {
      try {
        const files = summary.state === 'failed' && summary.steps === 0 ? null : await runFiles(s, {
          model: { name: run.model.name, source: run.model.source },
          dataset: {
            name: meta.name, version: meta.currentVersion, records: await this.datasets.records(meta.id), trainRows: rows.train.length, validationRows: rows.validation.length,
            maxLength: meta.options.maxLength, packing: meta.options.packing, maskPrompt: meta.options.maskPrompt, validationFraction: meta.options.validationFraction, splitSeed: meta.options.splitSeed,
          },
          config, seq: rows.seq, totalSteps: trainer.totalSteps, events,
        });
        if (files) await this.runs.saveFiles(run.id, files);
        await this.runs.update(run.id, {
          state: summary.state, events: [...events], ...runProgress(events), hasAdapter: files !== null || run.hasAdapter, ...(summary.message ? { message: summary.message } : {}),
        });
      } finally {
        trainer.destroy();
        this.active = null;
        onEvent({ type: 'state', state: summary.state, step: summary.steps, runId: run.id });
      }
    });
    this.active = { id: run.id, trainer, done };
  }

  async pauseRun(): Promise<void> {
    this.active?.trainer.pause();
    if (this.active) await this.runs.update(this.active.id, { state: 'paused' });
  }

  async resumeRun(): Promise<void> {
    this.active?.trainer.resume();
    if (this.active) await this.runs.update(this.active.id, { state: 'running' });
  }

  async stopRun(): Promise<void> {
    const a = this.active;
    if (!a) return;
    a.trainer.stop();
    await a.done;
  }

  async activeRunId(): Promise<string | null> {
    return this.active?.id ?? null;
  }

  private view(r: RunRecord): RunSummary {
    const orphaned = (r.state === 'running' || r.state === 'paused') && this.active?.id !== r.id;
    const { events: _events, dataset, ...rest } = r;
    void _events;
    return {
      ...rest,
      state: orphaned ? 'interrupted' : r.state,
      model: { ...(r.model.source as ModelSource), name: r.model.name },
      dataset: dataset ? { id: dataset.id, name: dataset.name, version: dataset.version, hash: dataset.hash } : null,
    };
  }

  async listRuns(): Promise<RunSummary[]> {
    return (await this.runs.list()).map((r) => this.view(r));
  }

  async getRun(id: string): Promise<RunDetail> {
    const r = await this.runs.get(id);
    return { ...this.view(r), events: r.events };
  }

  async deleteRun(id: string): Promise<void> {
    if (this.active?.id === id) throw new Error('stop the run before deleting it');
    await this.runs.delete(id);
  }

  /** Makes the session hold a run's trained adapter (or the base model for null). */
  private async attachRunAdapter(runId: string | null): Promise<void> {
    const s = await this.requireModel();
    if (this.active) {
      if (runId === this.active.id) return;
      throw new Error('a run is training: evaluate or chat with that run, or stop it first');
    }
    if (runId === null) {
      s.dropAdapter();
      this.adapterOf = null;
      return;
    }
    if (this.adapterOf === runId && s.model?.lora) return;
    const files = await this.runs.files(runId);
    if (!files['adapter_model.safetensors']) throw new Error('this run trained every weight; export it as a merged model instead');
    await s.loadAdapter(await readPeftAdapter(s.requireModel().cfg, memoryTree(`run ${runId}`, files)));
    this.adapterOf = runId;
  }

  // ---- evaluation and generation

  async evaluate(req: EvalRequest, onProgress?: (done: number, total: number) => void): Promise<EvalReport> {
    // abortGeneration() cancels an evaluation too, from the moment it is asked for.
    const abort = (this.generation = new AbortController());
    try {
      const meta = await this.datasets.get(req.datasetId);
      const data = await this.data(meta);
      const idx = req.split === 'train' ? data.split.train : req.split === 'validation' ? data.split.validation : data.examples.map((_, i) => i);
      if (idx.length === 0) throw new Error(`the ${req.split} split of ${meta.name} is empty (set a validation fraction in the Data view)`);
      const items = idx.slice(0, req.maxExamples ?? idx.length).map((i) => data.examples[i]!);
      await this.attachRunAdapter(req.runId);
      const generate = req.generate ? Math.min(items.length, 20) : 0;
      return await evaluate(this.session!, items, { generate, runId: req.runId, onProgress, signal: abort.signal });
    } finally {
      if (this.generation === abort) this.generation = null;
    }
  }

  async generate(req: GenerateRequest, onToken?: (t: GeneratedToken) => void): Promise<GenerateResult> {
    const s = await this.requireModel();
    await this.attachRunAdapter(req.runId);
    const tok = s.requireTokenizer();
    const ids = req.messages ? tok.encode(tok.applyChatTemplate([...req.messages], { addGenerationPrompt: true })) : tok.encode(req.prompt ?? '', { addSpecialTokens: true });
    const stops = ['<|im_end|>', '<|eot_id|>', '<|end|>'].map((t) => tok.tokenToId(t)).filter((x): x is number => x !== undefined);
    this.generation = new AbortController();
    const tokens: GeneratedToken[] = [];
    const ends = new Set([...stops, ...s.requireModel().cfg.eosTokenIds]);
    const kept: number[] = [];
    let text = '';
    // Each token's text is the growth of the decoded string (a character split over tokens lands on its last one).
    const g = await s.generate(ids, {
      ...req.sampling, stopTokens: stops, signal: this.generation.signal,
      onToken: (id, logprob, entropy) => {
        if (ends.has(id)) return;
        kept.push(id);
        const full = tok.decode(kept, { skipSpecialTokens: true });
        const whole = !full.endsWith('\uFFFD');
        const t = { id, text: whole ? full.slice(text.length) : '', logprob, entropy };
        if (whole) text = full;
        tokens.push(t);
        onToken?.(t);
      },
    });
    this.generation = null;
    const lp = tokens.map((t) => t.logprob);
    return { text, tokens, stopReason: g.stopReason, meanLogprob: lp.length ? lp.reduce((a, b) => a + b, 0) / lp.length : null };
  }

  async abortGeneration(): Promise<void> {
    this.generation?.abort();
  }

  // ---- export and import

  private zip(folder: string, files: Record<string, Uint8Array>): Uint8Array {
    const entries: Record<string, Uint8Array> = {};
    for (const [name, bytes] of Object.entries(files)) entries[`${folder}/${name}`] = bytes;
    return zipSync(entries, { level: 6 });
  }

  private static safeName(name: string): string {
    return name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'run';
  }

  async exportAdapter(runId: string): Promise<ExportedFile> {
    const run = await this.runs.get(runId);
    const files = await this.runs.files(runId);
    const pick = ['adapter_config.json', 'adapter_model.safetensors'].filter((f) => files[f]);
    if (pick.length < 2) throw new Error('this run has no LoRA adapter (full fine-tuning: export the merged model)');
    const folder = `${Workbench.safeName(run.name)}-adapter`;
    const readme = new TextEncoder().encode(adapterReadme(run));
    return { name: `${folder}.zip`, bytes: this.zip(folder, { ...Object.fromEntries(pick.map((f) => [f, files[f]!])), 'README.md': readme }), mime: 'application/zip' };
  }

  async exportMerged(runId: string): Promise<ExportedFile> {
    const run = await this.runs.get(runId);
    const s = await this.requireModel();
    if (run.config?.method === 'full') {
      const files = await this.runs.files(runId);
      const folder = `${Workbench.safeName(run.name)}-model`;
      return { name: `${folder}.zip`, bytes: this.zip(folder, files), mime: 'application/zip' };
    }
    await this.attachRunAdapter(runId);
    const folder = `${Workbench.safeName(run.name)}-merged`;
    return { name: `${folder}.zip`, bytes: this.zip(folder, await s.saveMerged()), mime: 'application/zip' };
  }

  async exportManifest(runId: string): Promise<ExportedFile[]> {
    const files = await this.runs.files(runId);
    const out: ExportedFile[] = [];
    for (const [name, mime] of [['run_manifest.json', 'application/json'], ['trl_config.yaml', 'text/yaml'], ['train_trl.py', 'text/x-python']] as const) {
      if (files[name]) out.push({ name, bytes: files[name]!, mime });
    }
    if (!out.length) throw new Error('this run has no manifest yet (it is written when a run ends)');
    return out;
  }

  async importAdapter(name: string, files: readonly LocalFile[]): Promise<RunSummary> {
    const s = await this.requireModel();
    const tree = this.platform.localTree(name, files);
    const read = await readPeftAdapter(s.requireModel().cfg, tree);
    const stored: Record<string, Uint8Array> = {};
    for (const f of ['adapter_config.json', 'adapter_model.safetensors']) {
      const src = await tree.open(f);
      if (src) stored[f] = await src.read(0, src.size);
    }
    const st = read.settings;
    const config = trainConfig({ lora: { r: st.r, alpha: st.alpha, dropout: st.dropout, rslora: st.rslora, targets: [...st.targets] } });
    const run = await this.runs.create({ name, state: 'imported', model: { name: s.info().name, source: this.source }, dataset: null, config, seq: 0, totalSteps: 0 });
    await this.runs.saveFiles(run.id, stored);
    return this.view(await this.runs.update(run.id, { hasAdapter: true }));
  }
}

function adapterReadme(run: RunRecord): string {
  const c = run.config;
  return [
    `# ${run.name}`,
    '',
    `A LoRA adapter trained with tabtune (in a browser tab, on WebGPU) for \`${run.model.name}\`.`,
    '',
    '```python',
    'from peft import PeftModel',
    'from transformers import AutoModelForCausalLM',
    `base = AutoModelForCausalLM.from_pretrained("${run.model.name}")`,
    'model = PeftModel.from_pretrained(base, "./")',
    '```',
    '',
    c ? `LoRA r=${c.lora.r}, alpha=${c.lora.alpha}, dropout=${c.lora.dropout}; lr ${c.lr} (${c.schedule}), ${run.step} steps, seed ${c.seed}.` : '',
    run.dataset ? `Dataset: ${run.dataset.name} (version ${run.dataset.version}, sha256 ${run.dataset.hash.slice(0, 16)}…).` : '',
    '',
  ].join('\n');
}
