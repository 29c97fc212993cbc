import type { PrepareForm } from '../data/prepare/pipeline.ts';
import { kernelSelfTest } from '../selftest/kernels.ts';
import type {
  DatasetPreview, DatasetSummary, EvalReport, EvalRequest, ExportedFile, GenerateRequest, GenerateResult, GeneratedToken, GpuInfo,
  GgufRequest, LoadProgress, LocalFile, LrFinderResult, LrPoint, MemoryEstimate, MemoryRequest, ModelSource, ModelSummary, PreparedVersion,
  RunDetail, RunEvent, RunSettings, RunSummary, WorkerApi,
} from './api.ts';
import { BenchmarkBoard, runSuiteJob, type Leaderboard, type SuiteFiles, type SuiteReport, type SuiteRequest } from './benchmarks.ts';
import { DatasetLibrary, type DatasetOptions } from './datasets.ts';
import { Evaluation } from './evaluation.ts';
import { Exports } from './exports.ts';
import { ChatPageExport } from './chat-page.ts';
import { GgufExports } from './gguf-exports.ts';
import { LrRangeTest } from './lr-range.ts';
import { ModelHost } from './model-host.ts';
import { MoaPlayground } from './moa-playground.ts';
import type { MoaPlaygroundResult, MoaProposalResult, MoaRequest } from './api.ts';
import type { WorkbenchPlatform } from './platform.ts';
import { RunControl } from './run-control.ts';
import { RunLibrary } from './runs.ts';
import { TokenizedDatasets } from './tokenized-datasets.ts';
import { fitToGpu } from './fit-to-gpu.ts';
import type { FitToGpuRequest } from './api.ts';
import type { MemoryPlan } from '../model/memory-plan.ts';
import { FeedbackLog, feedbackJsonl, type FeedbackInput, type PlaygroundFeedback } from './feedback.ts';
import { makeFeedbackDataset, type FeedbackDatasetRequest } from './feedback-datasets.ts';
import { importDocuments, type DocumentFile } from './documents-datasets.ts';
import { AdapterGates } from './adapter-gates.ts';
import type { GateEstimateRequest, GateGenerateRequest, GateTrainRequest } from './api.ts';

export type { WorkbenchPlatform } from './platform.ts';

/**
 * The Worker's API: one object over the concerns it joins (models, datasets, runs, evaluation,
 * export), each in its own file. Platform-free, so Node tests drive exactly what the browser
 * Worker runs.
 */
export class Workbench implements WorkerApi {
  private readonly host: ModelHost;
  private readonly datasets: DatasetLibrary;
  private readonly tokenized: TokenizedDatasets;
  private readonly runs: RunControl;
  private readonly evaluation: Evaluation;
  private readonly exports: Exports;
  private readonly benchmarks: BenchmarkBoard;
  private readonly lrRange: LrRangeTest;
  private readonly gguf: GgufExports;
  private readonly chatPage: ChatPageExport;
  private readonly moa: MoaPlayground;
  private readonly feedback: FeedbackLog;
  private readonly gates: AdapterGates;

  constructor(private readonly platform: WorkbenchPlatform) {
    const library = new RunLibrary(platform.store);
    this.host = new ModelHost(platform, library, () => this.runs.activeId);
    this.datasets = new DatasetLibrary(platform.store);
    this.tokenized = new TokenizedDatasets(this.datasets, this.host);
    this.runs = new RunControl(this.host, this.datasets, this.tokenized, library, platform.loadRewards);
    this.host.onLost = () => this.runs.halt();
    this.evaluation = new Evaluation(this.host, this.datasets, this.tokenized);
    this.moa = new MoaPlayground(this.host);
    this.exports = new Exports(platform, this.host, library, this.runs);
    this.benchmarks = new BenchmarkBoard(platform.store);
    this.gguf = new GgufExports(this.host, library);
    this.chatPage = new ChatPageExport(this.host, library);
    this.feedback = new FeedbackLog(platform.store);
    this.gates = new AdapterGates(platform.store, this.host, library, this.datasets, this.tokenized);
    this.lrRange = new LrRangeTest(this.host, this.datasets, this.tokenized, () => this.runs.activeId);
  }

  init(): Promise<GpuInfo> {
    return this.host.gpuInfo();
  }

  async selfTest() {
    return kernelSelfTest(await this.host.requireGpu());
  }

  // ---- models

  async loadModel(source: ModelSource, files: readonly LocalFile[] | null, onProgress?: (p: LoadProgress) => void): Promise<ModelSummary> {
    if (this.runs.activeId) throw new Error('stop the running training before loading another model');
    this.gates.refuseWhileTraining();
    const summary = await this.host.load(source, files, onProgress);
    this.tokenized.invalidate();
    return summary;
  }

  async modelSummary(): Promise<ModelSummary | null> {
    const s = this.host.loaded;
    return s ? this.host.summary(s) : null;
  }

  cachedModels() {
    return this.platform.cachedModels();
  }

  estimateMemory(req: MemoryRequest): Promise<MemoryEstimate> {
    return this.host.estimateMemory(req);
  }

  fitToGpu(req: FitToGpuRequest): Promise<MemoryPlan> {
    return fitToGpu(this.host, this.datasets, this.tokenized, req);
  }

  // ---- datasets

  importDataset(name: string, bytes: Uint8Array, options?: Partial<DatasetOptions>): Promise<DatasetSummary> {
    return this.datasets.import(name, bytes, options);
  }

  /** Raw documents (.txt, .md, .jsonl text) as one dataset, for continued pre-training. */
  importDocuments(files: readonly DocumentFile[], name?: string): Promise<DatasetSummary> {
    return importDocuments(this.datasets, files, name);
  }

  listDatasets(): Promise<DatasetSummary[]> {
    return this.datasets.list();
  }

  async updateDatasetOptions(id: string, options: Partial<DatasetOptions>): Promise<DatasetSummary> {
    this.tokenized.invalidate();
    return this.datasets.updateOptions(id, options);
  }

  async deleteDataset(id: string): Promise<void> {
    this.tokenized.invalidate();
    await this.datasets.delete(id);
  }

  async setDatasetVersion(id: string, version: number): Promise<DatasetSummary> {
    this.tokenized.invalidate();
    return this.datasets.setVersion(id, version);
  }

  previewDataset(id: string, offset: number, count: number): Promise<DatasetPreview> {
    return this.tokenized.preview(id, offset, count);
  }

  /** Data preparation (the Data view's Prepare form) stored as a new dataset version. */
  prepareDataset(id: string, form: PrepareForm, onProgress?: (step: string, done: number, total: number) => void): Promise<PreparedVersion> {
    return this.tokenized.prepare(id, form, onProgress);
  }

  // ---- runs

  async findLearningRate(settings: RunSettings, onPoint?: (p: LrPoint) => void): Promise<LrFinderResult> {
    this.gates.refuseWhileTraining();
    await this.evaluation.cancel();
    return this.lrRange.run(settings, onPoint);
  }

  /** A streaming answer in the playground is stopped first: the run takes over the model. */
  async startRun(settings: RunSettings, onEvent: (e: RunEvent) => void): Promise<string> {
    this.gates.refuseWhileTraining();
    await this.evaluation.cancel();
    return this.runs.start(settings, onEvent);
  }

  async continueRun(runId: string, onEvent: (e: RunEvent) => void): Promise<void> {
    this.gates.refuseWhileTraining();
    await this.evaluation.cancel();
    return this.runs.continue(runId, onEvent);
  }

  pauseRun(): Promise<void> {
    return this.runs.pause();
  }

  resumeRun(): Promise<void> {
    return this.runs.resume();
  }

  stopRun(): Promise<void> {
    return this.runs.stop();
  }

  async activeRunId(): Promise<string | null> {
    return this.runs.activeId;
  }

  listRuns(): Promise<RunSummary[]> {
    return this.runs.list();
  }

  getRun(id: string): Promise<RunDetail> {
    return this.runs.get(id);
  }

  deleteRun(id: string): Promise<void> {
    return this.runs.delete(id);
  }

  // ---- benchmark suites and the leaderboard (workspace/benchmarks.ts)

  async runSuite(req: SuiteRequest, onProgress?: (what: string, done: number, total: number) => void): Promise<SuiteReport> {
    const s = await this.host.requireModel();
    const names = { model: s.info().name, run: req.runId ? (await this.runs.get(req.runId)).name : 'base' };
    return runSuiteJob(s, async (id) => void (await this.host.attachRunAdapter(id)), this.benchmarks, req, names, onProgress);
  }

  saveSuite(suite: SuiteFiles): Promise<string[]> {
    return this.benchmarks.saveSuite(suite);
  }

  listSuites(): Promise<string[]> {
    return this.benchmarks.listSuites();
  }

  getSuite(name: string): Promise<SuiteFiles> {
    return this.benchmarks.getSuite(name);
  }

  async leaderboard(): Promise<Leaderboard> {
    const s = this.host.loaded;
    return this.benchmarks.leaderboard(s ? s.info().name : null, (await this.runs.list()).map((r) => r.id));
  }

  // ---- evaluation and generation

  evaluate(req: EvalRequest, onProgress?: (done: number, total: number) => void): Promise<EvalReport> {
    return this.evaluation.evaluate(req, onProgress);
  }

  generate(req: GenerateRequest, onToken?: (t: GeneratedToken) => void): Promise<GenerateResult> {
    return this.evaluation.generate(req, onToken);
  }

  mixtureOfAgents(
    req: MoaRequest, onProposal?: (p: MoaProposalResult) => void, onToken?: (t: GeneratedToken) => void,
  ): Promise<MoaPlaygroundResult> {
    return this.moa.run(req, onProposal, onToken);
  }

  async abortGeneration(): Promise<void> {
    this.evaluation.abort();
    this.moa.abort();
    this.gates.abort();
  }

  // ---- learned adapter gates (workspace/adapter-gates.ts)

  estimateGate(req: GateEstimateRequest) {
    return this.gates.estimate(req);
  }

  async trainGate(req: GateTrainRequest, onStep?: (step: number, loss: number) => void) {
    await this.evaluation.cancel();
    return this.gates.train(req, onStep);
  }

  listGates() {
    return this.gates.list();
  }

  deleteGate(id: string) {
    return this.gates.delete(id);
  }

  async generateWithGate(req: GateGenerateRequest, onToken?: (t: GeneratedToken) => void) {
    await this.evaluation.cancel();
    return this.gates.generate(req, onToken);
  }

  exportGate(id: string) {
    return this.gates.export(id);
  }

  // ---- export and import

  exportAdapter(runId: string): Promise<ExportedFile> {
    return this.exports.adapter(runId);
  }

  exportMerged(runId: string): Promise<ExportedFile> {
    return this.exports.merged(runId);
  }

  exportGguf(req: GgufRequest, onProgress?: (done: number, total: number) => void): Promise<ExportedFile[]> {
    return this.gguf.export(req, onProgress);
  }

  exportChatPage(runId: string, page: Readonly<Record<string, Uint8Array>>): Promise<ExportedFile> {
    return this.chatPage.export(runId, page);
  }

  exportManifest(runId: string): Promise<ExportedFile[]> {
    return this.exports.manifest(runId);
  }

  importAdapter(name: string, files: readonly LocalFile[]): Promise<RunSummary> {
    return this.exports.importAdapter(name, files);
  }

  // ---- the playground's feedback (workspace/feedback.ts, feedback-datasets.ts)

  addFeedback(input: FeedbackInput): Promise<PlaygroundFeedback> {
    return this.feedback.add(input);
  }

  listFeedback(): Promise<PlaygroundFeedback[]> {
    return this.feedback.list();
  }

  async exportFeedback(): Promise<ExportedFile> {
    return { name: 'feedback.jsonl', bytes: feedbackJsonl(await this.feedback.list()), mime: 'application/jsonl' };
  }

  async feedbackDataset(req: FeedbackDatasetRequest): Promise<DatasetSummary> {
    const runName = req.runId ? (await this.runs.get(req.runId)).name : 'the base model';
    return makeFeedbackDataset(this.feedback, this.datasets, runName, req);
  }
}
