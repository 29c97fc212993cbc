/**
 * The one API the UI calls on the training Worker (through comlink). Everything that touches the
 * GPU, the model, datasets, runs and checkpoints happens behind it; the UI only sends commands and
 * renders what comes back. Callbacks must be passed wrapped in `Comlink.proxy(...)`.
 */
import type { AdapterSummary } from '../gpu/gpu.ts';
import type { SelfTestResult } from '../selftest/kernels.ts';
import type { RecordKind, RecordProblem, RecordSource } from '../data/records.ts';
import type { TokenStats } from '../data/stats.ts';
import type { PrepareForm } from '../data/prepare/pipeline.ts';
import type { QualityReport } from '../data/prepare/report.ts';
import type { TrainConfigInput } from '../train/config.ts';
import type { BaseQuant } from '../model/base-quant.ts';
import type { Precision, PrecisionChoice } from '../model/precision.ts';
import type { RunRecord } from './runs.ts';
import type { RunState, TrainEvent } from '../train/events.ts';
import type { PreferenceSettings } from './preference-runs.ts';
import type { CptRequest } from './cpt-runs.ts';
import type { FeedbackInput, PlaygroundFeedback } from './feedback.ts';
import type { FeedbackDatasetRequest } from './feedback-datasets.ts';
export type { FeedbackFormat, FeedbackInput, FeedbackLineage, PlaygroundFeedback, RatedAnswer } from './feedback.ts';
export type { FeedbackDatasetRequest } from './feedback-datasets.ts';
export type { PreferenceSettings } from './preference-runs.ts';
export type { CptEvaluation, CptRequest } from './cpt-runs.ts';
export type { PreferenceEvaluation } from './preference-evaluation.ts';
import type { GrpoSettings } from './grpo-runs.ts';
export type { GrpoSettings } from './grpo-runs.ts';

export interface GpuInfo {
  readonly adapter: AdapterSummary;
  readonly limits: Readonly<Record<string, number>>;
  readonly features: readonly string[];
}

/** Where a model comes from. `local` models are folders the user picked or dropped. */
export type ModelSource =
  | { readonly kind: 'demo' }
  | {
      readonly kind: 'hub';
      readonly repo: string;
      readonly revision: string;
      /** Hub origin; default https://huggingface.co (tests serve a local copy). */
      readonly base?: string;
    }
  | { readonly kind: 'local'; readonly name: string };

export interface LoadProgress {
  readonly phase: 'download' | 'load';
  readonly file?: string;
  /** Bytes (download) or tensors (load). */
  readonly done: number;
  readonly total: number;
  /** True when the file came from the browser cache. */
  readonly cached?: boolean;
}

export interface LinearModuleInfo {
  /** Canonical id (`self_attn.q_proj`, `attn.c_attn`) and PEFT short name (`q_proj`). */
  readonly id: string;
  readonly name: string;
  readonly in: number;
  readonly out: number;
  /** LoRA parameters per layer per unit of rank: in + out. */
  readonly paramsPerRank: number;
}

export interface ModelSummary {
  readonly source: ModelSource;
  readonly name: string;
  readonly arch: string;
  readonly parameters: number;
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly dtype: string;
  readonly hasChatTemplate: boolean;
  readonly linearModules: readonly LinearModuleInfo[];
  readonly warnings: readonly string[];
}

/** A local file handed to the Worker (path inside the picked folder, and its File/Blob). */
export interface LocalFile {
  readonly path: string;
  readonly file: Blob;
}

export interface MemoryRequest {
  readonly method: 'lora' | 'full';
  readonly batch: number;
  readonly seq: number;
  readonly r: number;
  /** 'all-linear' or module names. */
  readonly targets: 'all-linear' | readonly string[];
  readonly gradCheckpointing: boolean;
  /** How the base is held (quantised, or its linear weights as halves); f32 when absent. */
  readonly quant?: BaseQuant;
  readonly precision?: Precision;
  /** Full runs that train a part of the model (freezing, half fine-tuning): as the run's TrainConfig says. */
  readonly freeze?: TrainConfigInput['freeze'];
  readonly halfFt?: TrainConfigInput['halfFt'];
}

/** "Fit to my GPU": the run the app wants, on a dataset, under a memory budget. */
export interface FitToGpuRequest {
  readonly datasetId: string;
  readonly method: 'lora' | 'full';
  /** Rows per optimizer step wanted; the plan keeps it with gradient accumulation. */
  readonly batch: number;
  readonly r: number;
  readonly targets: 'all-linear' | readonly string[];
  readonly loraDropout: number;
  /** Full runs that train a part of the model (freezing, half fine-tuning): as the run's TrainConfig says. */
  readonly freeze?: TrainConfigInput['freeze'];
  readonly halfFt?: TrainConfigInput['halfFt'];
  /** The memory the run may use (browsers do not say how much the GPU has). */
  readonly budgetMiB: number;
  /** f32 keeps an unquantised base f32, auto holds it f16 where the adapter offers shader-f16, f16 allows no quantised base. */
  readonly precision?: PrecisionChoice;
}

export interface MemoryEstimate {
  /** Bytes by purpose: weights, adapter, gradients, optimizer, activations, logits, ... */
  readonly parts: Readonly<Record<string, number>>;
  readonly total: number;
  /** The adapter's limits the estimate is checked against. */
  readonly maxBufferSize: number;
  readonly maxStorageBufferBindingSize: number;
  /** False when a single buffer would exceed a limit (then `problems` says which). */
  readonly fits: boolean;
  readonly problems: readonly string[];
}

export type { DatasetOptions, DatasetVersion } from './datasets.ts';
export type { MemoryPlan } from '../model/memory-plan.ts';
import type { MemoryPlan } from '../model/memory-plan.ts';
import type { DatasetMeta, DatasetOptions } from './datasets.ts';

/** A dataset as the UI sees it (what the library stores about it). */
export type DatasetSummary = DatasetMeta;

export interface PreviewToken {
  readonly text: string;
  readonly id: number;
  /** Carries loss (highlighted in the preview). */
  readonly trained: boolean;
}

export interface PreviewRow {
  readonly index: number;
  readonly source: RecordSource;
  readonly kind: RecordKind;
  /** The text the model sees (chat template applied). */
  readonly text: string;
  readonly tokens: readonly PreviewToken[];
  readonly truncated: boolean;
  readonly split: 'train' | 'validation';
  readonly generated?: boolean;
}

export interface DatasetPreview {
  readonly rows: readonly PreviewRow[];
  readonly total: number;
  /** Token statistics of the whole (current version of the) dataset with the current model's tokenizer. */
  readonly stats: TokenStats;
  readonly train: number;
  readonly validation: number;
  /** Records that produced no trainable example (reasons). */
  readonly problems: readonly RecordProblem[];
}

export interface RunSettings {
  readonly name?: string;
  readonly datasetId: string;
  readonly config: TrainConfigInput;
  /** Continue from another run's adapter (imported or trained). */
  readonly initRunId?: string;
  /** DPO/ORPO/SimPO/KTO on a preference dataset (absent: SFT). */
  readonly preference?: PreferenceSettings;
  /** Continued pre-training on a documents dataset (workspace/cpt-runs.ts). */
  readonly cpt?: CptRequest;
  /** GRPO on the dataset's prompts with the user's reward functions (the app's sandboxed reward Worker). */
  readonly grpo?: GrpoSettings;
}

/** A run as the UI lists it: the stored record without its events, with the model's source spelled out. */
export interface RunSummary extends Omit<RunRecord, 'events' | 'state' | 'model' | 'dataset'> {
  /** 'interrupted': the tab closed or the GPU was lost mid-run; it can continue from its checkpoint. */
  readonly state: RunState | 'interrupted' | 'imported';
  readonly model: ModelSource & { readonly name: string };
  readonly dataset: { readonly id: string; readonly name: string; readonly version: number; readonly hash: string } | null;
}

export interface RunDetail extends RunSummary {
  readonly events: readonly TrainEvent[];
}

export type RunEvent = TrainEvent & { readonly runId: string };

export interface EvalRequest {
  readonly datasetId: string;
  readonly split: 'validation' | 'train' | 'all';
  /** Score with this run's adapter; null for the base model. */
  readonly runId: string | null;
  /** Also generate answers for prompt/chat records and compare with the references (slower). */
  readonly generate?: boolean;
  readonly maxExamples?: number;
}

export type { EvalExample, EvalReport } from '../eval/report.ts';
export type { Leaderboard, LeaderboardRow, SuiteFiles, SuiteReport, SuiteRequest } from './benchmarks.ts';
import type { Leaderboard, SuiteFiles, SuiteReport, SuiteRequest } from './benchmarks.ts';
import type { EvalReport } from '../eval/report.ts';

export interface SamplingSettings {
  readonly maxNewTokens: number;
  readonly greedy?: boolean;
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly repetitionPenalty?: number;
  readonly seed?: number;
}

/** A dataset version made by preparation, with its quality report. */
export interface PreparedVersion {
  readonly dataset: DatasetSummary;
  readonly report: QualityReport;
  readonly reportText: string;
  /** Records the preparation synthesized. */
  readonly generated: number;
}

export interface GenerateRequest {
  /** Chat messages (rendered with the chat template) or plain text. */
  readonly messages?: readonly { role: string; content: string }[];
  readonly prompt?: string;
  /** The run whose adapter to use; null for the base model. */
  readonly runId: string | null;
  readonly sampling: SamplingSettings;
}

export interface GeneratedToken {
  readonly id: number;
  readonly text: string;
  /** log p of the token (nats) and the entropy of its distribution, for confidence shading. */
  readonly logprob: number;
  readonly entropy: number;
}

export interface GenerateResult {
  readonly text: string;
  readonly tokens: readonly GeneratedToken[];
  readonly stopReason: 'stop-token' | 'length' | 'aborted';
  readonly meanLogprob: number | null;
}

/** The playground's mixture of agents (workspace/moa-playground.ts). */
export interface MoaProposerRequest {
  /** The run whose adapter proposes; null: the base model. */
  readonly runId: string | null;
  /** Sampling at this temperature (its own seed); absent: the request's sampling. */
  readonly temperature?: number;
}

export interface MoaRequest {
  readonly prompt: string;
  /** Wrap each prompt as a user message with the chat template. */
  readonly chat: boolean;
  readonly proposers: readonly MoaProposerRequest[];
  readonly aggregatorRunId: string | null;
  readonly layers: 1 | 2;
  /** With {question} and {proposals}; absent: the default. */
  readonly template?: string;
  readonly sampling: SamplingSettings;
}

export interface MoaProposalResult {
  readonly layer: number;
  /** Index in the request's proposers. */
  readonly index: number;
  readonly runId: string | null;
  readonly text: string;
}

export interface MoaPlaygroundResult {
  readonly proposals: readonly MoaProposalResult[];
  readonly aggregatorPrompt: string;
  readonly text: string;
  readonly tokens: readonly GeneratedToken[];
  readonly stopReason: 'stop-token' | 'length' | 'aborted';
}

/** The learned adapter gate (workspace/adapter-gates.ts): what the card shows before training; the runs, data and batch decide it. */
export interface GateEstimateRequest {
  readonly runIds: readonly string[];
  readonly datasetId: string;
  readonly batch: number;
}

export interface GateEstimate {
  readonly parts: Record<string, number>;
  readonly total: number;
  /** The gate's parameters (W_g and b of every layer). */
  readonly parameters: number;
  readonly rows: number;
  readonly seq: number;
}

export interface GateTrainRequest extends GateEstimateRequest {
  readonly name: string;
  readonly steps: number;
  readonly lr: number;
  readonly seed?: number;
}

export interface GateSummary {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  /** The base model the gate was trained on. */
  readonly model: string;
  /** The adapters in gate order: each a run's adapter under a file-safe name. */
  readonly adapters: readonly { readonly name: string; readonly runId: string; readonly r: number }[];
  readonly dataset: string;
  readonly steps: number;
  readonly batch: number;
  readonly lr: number;
  /** Each step's training loss. */
  readonly losses: readonly number[];
}

export interface GateGenerateRequest {
  readonly gateId: string;
  readonly messages?: readonly { role: string; content: string }[];
  readonly prompt?: string;
  readonly sampling: SamplingSettings;
}

export interface GateGenerateResult extends GenerateResult {
  /** Mean gate weight per adapter over the answer's tokens and the layers (gate order; sums to 1). */
  readonly routing: readonly { readonly name: string; readonly weight: number }[];
}

export interface ExportedFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly mime: string;
}

export type { LrFinderResult, LrPoint } from '../train/lr-finder.ts';
import type { GgufOutType } from '../deploy/gguf-export.ts';
import type { GgufFormat } from '../deploy/gguf-files.ts';

/** A run's merged model (`gguf`) or its adapter alone (`gguf-lora`) as GGUF, with the weights in `type`. */
export interface GgufRequest {
  readonly runId: string;
  readonly format: GgufFormat;
  readonly type: GgufOutType;
}
import type { LrFinderResult, LrPoint } from '../train/lr-finder.ts';

export interface WorkerApi {
  /** Acquires WebGPU; rejects with a message that says how to enable it. */
  init(): Promise<GpuInfo>;
  selfTest(): Promise<SelfTestResult[]>;

  loadModel(source: ModelSource, files: readonly LocalFile[] | null, onProgress?: (p: LoadProgress) => void): Promise<ModelSummary>;
  modelSummary(): Promise<ModelSummary | null>;
  /** Hub repos downloaded into the browser cache (usable offline). */
  cachedModels(): Promise<{ repo: string; revision: string; bytes: number }[]>;
  estimateMemory(req: MemoryRequest): Promise<MemoryEstimate>;
  /** "Fit to my GPU": batch, accumulation, rows, recomputation and quantisation for a budget, with reasons. */
  fitToGpu(req: FitToGpuRequest): Promise<MemoryPlan>;

  importDataset(name: string, bytes: Uint8Array, options?: Partial<DatasetOptions>): Promise<DatasetSummary>;
  importDocuments(files: readonly { readonly name: string; readonly bytes: Uint8Array }[], name?: string): Promise<DatasetSummary>;
  listDatasets(): Promise<DatasetSummary[]>;
  updateDatasetOptions(id: string, options: Partial<DatasetOptions>): Promise<DatasetSummary>;
  previewDataset(id: string, offset: number, count: number): Promise<DatasetPreview>;
  deleteDataset(id: string): Promise<void>;
  /** Runs data preparation (core/data/prepare) and stores the result as a new version. */
  prepareDataset(id: string, form: PrepareForm, onProgress?: (step: string, done: number, total: number) => void): Promise<PreparedVersion>;
  setDatasetVersion(id: string, version: number): Promise<DatasetSummary>;

  /** The learning-rate range test for these settings (workspace/lr-range.ts); trains nothing. */
  findLearningRate(settings: RunSettings, onPoint?: (p: LrPoint) => void): Promise<LrFinderResult>;
  startRun(settings: RunSettings, onEvent: (e: RunEvent) => void): Promise<string>;
  pauseRun(): Promise<void>;
  resumeRun(): Promise<void>;
  stopRun(): Promise<void>;
  /** Continues an interrupted or stopped run from its last checkpoint. */
  continueRun(runId: string, onEvent: (e: RunEvent) => void): Promise<void>;
  activeRunId(): Promise<string | null>;
  listRuns(): Promise<RunSummary[]>;
  getRun(id: string): Promise<RunDetail>;
  deleteRun(id: string): Promise<void>;

  evaluate(req: EvalRequest, onProgress?: (done: number, total: number) => void): Promise<EvalReport>;
  generate(req: GenerateRequest, onToken?: (t: GeneratedToken) => void): Promise<GenerateResult>;
  /** Mixture of agents over runs' adapters (workspace/moa-playground.ts); abortGeneration stops it. */
  mixtureOfAgents(
    req: MoaRequest, onProposal?: (p: MoaProposalResult) => void, onToken?: (t: GeneratedToken) => void,
  ): Promise<MoaPlaygroundResult>;
  abortGeneration(): Promise<void>;
  /** Learned adapter gates (workspace/adapter-gates.ts): memory, training, the saved list, generation with routing, the .zip. */
  estimateGate(req: GateEstimateRequest): Promise<GateEstimate>;
  trainGate(req: GateTrainRequest, onStep?: (step: number, loss: number) => void): Promise<GateSummary>;
  listGates(): Promise<GateSummary[]>;
  deleteGate(id: string): Promise<void>;
  generateWithGate(req: GateGenerateRequest, onToken?: (t: GeneratedToken) => void): Promise<GateGenerateResult>;
  exportGate(id: string): Promise<ExportedFile>;

  /** PEFT adapter folder as a .zip (adapter_config.json, adapter_model.safetensors, README.md). */
  exportAdapter(runId: string): Promise<ExportedFile>;
  /** Merged model folder as a .zip (config, weights in the base dtype, tokenizer files). */
  exportMerged(runId: string): Promise<ExportedFile>;
  /** A run's merged model (gguf) or adapter alone (gguf-lora) as GGUF for llama.cpp, and the Ollama Modelfile beside it. */
  exportGguf(req: GgufRequest, onProgress?: (done: number, total: number) => void): Promise<ExportedFile[]>;
  /** A static chat page (the app's built page files, given) with the run's merged model, as a .zip (workspace/chat-page.ts). */
  exportChatPage(runId: string, page: Readonly<Record<string, Uint8Array>>): Promise<ExportedFile>;
  /** run_manifest.json, and the equivalent TRL + PEFT configuration (YAML for `trl sft --config`, and a Python script). */
  exportManifest(runId: string): Promise<ExportedFile[]>;
  /** A PEFT adapter folder (files) becomes an 'imported' run: compare it, or continue training from it. */
  importAdapter(name: string, files: readonly LocalFile[]): Promise<RunSummary>;
  /** Benchmark suites (workspace/benchmarks.ts): the gate for a run, saved suites, the leaderboard of the loaded model. */
  runSuite(req: SuiteRequest, onProgress?: (what: string, done: number, total: number) => void): Promise<SuiteReport>;
  saveSuite(suite: SuiteFiles): Promise<string[]>;
  listSuites(): Promise<string[]>;
  getSuite(name: string): Promise<SuiteFiles>;
  leaderboard(): Promise<Leaderboard>;
  /** The playground's feedback (workspace/feedback.ts): store a rating, pick or edit; list; the log as JSONL. */
  addFeedback(input: FeedbackInput): Promise<PlaygroundFeedback>;
  listFeedback(): Promise<PlaygroundFeedback[]>;
  exportFeedback(): Promise<ExportedFile>;
  /** "Turn feedback into a dataset": a new preference (or KTO) dataset from the feedback on a run. */
  feedbackDataset(req: FeedbackDatasetRequest): Promise<DatasetSummary>;
}
