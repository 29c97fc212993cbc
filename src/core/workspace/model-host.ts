/**
 * The Workbench's models concern: the GPU, the one Session and its model (loaded again after a
 * device loss), the model's summary and memory estimate, and which run's adapter it holds.
 */
import { memoryTree, type FileTree } from '../formats/bytes.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { readPeftAdapter, type PeftAdapterFiles } from '../model/lora.ts';
import { estimateTrainingMemory } from '../model/memory.ts';
import { modelLinearModules, targetedShapes } from '../model/lora-targets.ts';
import { trainedBytes } from '../train/trained-count.ts';
import { Session } from '../session.ts';
import { holdBase } from './base-holding.ts';
import type { GpuInfo, LoadProgress, LocalFile, MemoryEstimate, MemoryRequest, ModelSource, ModelSummary } from './api.ts';
import type { RunLibrary } from './runs.ts';
import type { WorkbenchPlatform } from './platform.ts';

export class ModelHost {
  private gpu: Gpu | null = null;
  private session: Session | null = null;
  private tree: FileTree | null = null;
  /** Where the loaded model came from (null: none loaded). */
  source: ModelSource | null = null;
  /** The run whose adapter the session holds (null: none or a fresh one). */
  adapterOf: string | null = null;
  /** Called when the GPU is lost (a running training stops). */
  onLost: () => void = () => undefined;

  constructor(
    private readonly platform: WorkbenchPlatform,
    private readonly runs: RunLibrary,
    /** The run training now, if any: its adapter must stay attached. */
    private readonly training: () => string | null,
  ) {}

  async requireGpu(): Promise<Gpu> {
    if (this.gpu?.isLost) {
      this.session = null;
      this.gpu = null;
    }
    if (!this.gpu) {
      this.gpu = await this.platform.acquireGpu();
      this.gpu.onLost(() => this.onLost());
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

  async requireModel(): Promise<Session> {
    const s = await this.requireSession();
    if (!s.model) throw new Error('load a model first (Model view)');
    return s;
  }

  /** The loaded model's folder (read again by exports that need its files). */
  get files(): FileTree | null {
    return this.tree;
  }

  /** The session when a model is loaded (no GPU is acquired for it). */
  get loaded(): Session | null {
    return this.session?.model ? this.session : null;
  }

  async gpuInfo(): Promise<GpuInfo> {
    const g = await this.requireGpu();
    const limits: Record<string, number> = {};
    for (const [k, v] of Object.entries(limitsRecord(g.limits))) if (typeof v === 'number') limits[k] = v;
    return { adapter: g.adapter, limits, features: [...g.features] };
  }

  async load(source: ModelSource, files: readonly LocalFile[] | null, onProgress?: (p: LoadProgress) => void): Promise<ModelSummary> {
    const tree = await this.platform.openModel(source, files, onProgress);
    const s = await this.requireSession();
    await s.loadModel(tree, (done, total) => onProgress?.({ phase: 'load', done, total }));
    this.source = source;
    this.tree = tree;
    this.adapterOf = null;
    return this.summary(s);
  }

  summary(s: Session): ModelSummary {
    const info = s.info();
    const c = info.config;
    return {
      source: this.source!, name: info.name, arch: c.arch, parameters: info.parameters, layers: c.layers, hidden: c.hidden, heads: c.heads,
      kvHeads: c.kvHeads, vocabSize: c.vocabSize, maxPositions: c.maxPositions, dtype: c.dtype, hasChatTemplate: info.hasChatTemplate,
      linearModules: modelLinearModules(c).map((m) => {
        const f = m.features(c);
        return { id: m.id, name: m.name, in: f.in, out: f.out, paramsPerRank: f.in + f.out };
      }),
      warnings: c.warnings,
    };
  }

  async estimateMemory(req: MemoryRequest): Promise<MemoryEstimate> {
    const s = await this.requireModel();
    const cfg = s.requireModel().cfg;
    const gpu = await this.requireGpu();
    const modules = targetedShapes(cfg, req.targets);
    const trained = trainedBytes(cfg, req);
    const parts = estimateTrainingMemory(cfg, { ...req, loraModules: modules, loraDropout: 0.05, validation: true, trainedBytes: trained });
    const problems: string[] = [];
    const T = req.batch * req.seq;
    const widest = Math.max(cfg.hidden, cfg.intermediate * 2, cfg.heads * cfg.headDim + 2 * cfg.kvHeads * cfg.headDim);
    const binding = gpu.limits.maxStorageBufferBindingSize;
    if (T * widest * 4 > binding) {
      const mib = (binding / 2 ** 20).toFixed(0);
      problems.push(`a batch of ${T} tokens needs activation buffers over the GPU's ${mib} MiB binding limit: lower batch × sequence`);
    }
    const total = Object.values(parts).reduce((a, b) => a + b, 0);
    return { parts, total, maxBufferSize: gpu.limits.maxBufferSize, maxStorageBufferBindingSize: binding, fits: problems.length === 0, problems };
  }

  /** Makes the session hold a run's trained adapter (or the base model for null). */
  async attachRunAdapter(runId: string | null): Promise<Session> {
    const s = await this.requireModel();
    const training = this.training();
    if (training) {
      if (runId === training) return s;
      throw new Error('a run is training: evaluate or chat with that run, or stop it first');
    }
    if (runId === null) {
      s.dropAdapter();
      this.adapterOf = null;
      return s;
    }
    if (this.adapterOf === runId && s.model?.lora) return s;
    // An adapter is evaluated on the base as it was held in training (QLoRA: the quantised one).
    await holdBase(s, this.tree, (await this.runs.get(runId)).config ?? {});
    await s.loadAdapter(await this.runAdapter(runId));
    this.adapterOf = runId;
    return s;
  }

  /** A run's trained adapter, read and checked against the loaded model. */
  async runAdapter(runId: string): Promise<PeftAdapterFiles> {
    const s = await this.requireModel();
    const files = await this.runs.files(runId);
    if (!files['adapter_model.safetensors']) throw new Error('this run trained every weight; export it as a merged model instead');
    return readPeftAdapter(s.requireModel().cfg, memoryTree(`run ${runId}`, files));
  }
}

/** GPUSupportedLimits as a plain record of its fields (they are getters on the prototype). */
function limitsRecord(limits: GPUSupportedLimits): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in limits) out[k] = limits[k as keyof GPUSupportedLimits];
  return out;
}
