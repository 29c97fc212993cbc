/**
 * The Workbench's learned adapter gates (the Evaluate view's "Learned gate" card): a per-token gate
 * over 2–4 runs' LoRA adapters trained with them frozen (train/adapter-gate-train.ts, as
 * `tabtune train-gate`), kept in the store as the two files train-gate writes, used in the
 * playground as `generate --gate` does, with the answer's mean gate weight per adapter.
 */
import { memoryTree } from '../formats/bytes.ts';
import { linearModules } from '../formats/peft.ts';
import { zipFolder } from '../formats/zip.ts';
import { AdapterGate } from '../model/adapter-gate.ts';
import { gateFiles, readGateAdapter, readGateConfig, readGateWeights, GATE_CONFIG, GATE_WEIGHTS } from '../model/adapter-gate-files.ts';
import { estimateGateMemory, gateParameterCount } from '../model/adapter-gate-memory.ts';
import { checkGateAdapters, type GateAdapter } from '../model/adapter-gate-stack.ts';
import { generateText, promptIds } from '../pipeline/generate.ts';
import { splitExamples, trainingRows } from '../pipeline/training-data.ts';
import type { Session } from '../session.ts';
import { trainGate } from '../train/adapter-gate-train.ts';
import { gateRouting } from '../train/adapter-gate-routing.ts';
import type {
  ExportedFile, GateEstimate, GateEstimateRequest, GateGenerateRequest, GateGenerateResult, GateSummary, GateTrainRequest, GeneratedToken,
} from './api.ts';
import type { DatasetLibrary } from './datasets.ts';
import type { ModelHost } from './model-host.ts';
import type { RunLibrary } from './runs.ts';
import { holdBase } from './base-holding.ts';
import { newId, type KeyValueStore } from './store.ts';
import type { TokenizedDatasets } from './tokenized-datasets.ts';

interface GateRecord extends GateSummary {
  /** gate.safetensors and gate_config.json, as train-gate writes them. */
  readonly files: Record<string, Uint8Array>;
}

const key = (id: string) => `adapter-gate:${id}`;
/** A name fit for a folder: letters, digits, dots, dashes and underscores. */
const safeName = (name: string) => name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'adapter';
const strip = ({ files: _files, ...summary }: GateRecord): GateSummary => summary;

/** The card's numbers, checked as train-gate checks its flags. */
function checkSettings(req: GateTrainRequest): void {
  const whole = (v: number) => Number.isSafeInteger(v) && v >= 1;
  if (!whole(req.steps)) throw new Error(`steps must be a whole number of at least 1, got ${req.steps}`);
  if (!whole(req.batch)) throw new Error(`rows per step must be a whole number of at least 1, got ${req.batch}`);
  if (!(Number.isFinite(req.lr) && req.lr > 0)) throw new Error(`the learning rate must be above 0, got ${req.lr}`);
}

export class AdapterGates {
  private abortController: AbortController | null = null;
  private busy = false;

  constructor(
    private readonly store: KeyValueStore,
    private readonly host: ModelHost,
    private readonly runs: RunLibrary,
    private readonly datasets: DatasetLibrary,
    private readonly tokenized: TokenizedDatasets,
  ) {}

  /** Stops the answer streaming now, or the gate training after its current step. */
  abort(): void {
    this.abortController?.abort();
  }

  /** Runs, range tests and model loads wait for a gate's training (it holds the model and the GPU). */
  refuseWhileTraining(): void {
    if (this.busy) throw new Error('a gate is training (Evaluate view): stop it or let it finish first');
  }

  async list(): Promise<GateSummary[]> {
    const ids = (await this.store.keys()).filter((k) => k.startsWith('adapter-gate:'));
    const records = await Promise.all(ids.map((k) => this.store.get<GateRecord>(k)));
    return records.filter((r): r is GateRecord => r !== undefined).map(strip).sort((a, b) => b.createdAt - a.createdAt);
  }

  async delete(id: string): Promise<void> {
    await this.store.del(key(id));
  }

  /** Memory of training a gate over these runs' adapters on this dataset (nothing is loaded on the GPU). */
  async estimate(req: GateEstimateRequest): Promise<GateEstimate> {
    const s = await this.host.requireModel();
    const cfg = s.requireModel().cfg;
    const adapters = await this.adapters(s, req.runIds);
    const { rows, seq } = await this.rows(s, req.datasetId);
    const used = new Set(adapters.flatMap((a) => a.files.settings.targets));
    const modules = linearModules(cfg.arch, cfg).filter((m) => used.has(m.id)).map((m) => m.features(cfg));
    const ranks = adapters.map((a) => a.files.settings.r);
    const parts = estimateGateMemory(cfg, { ranks, modules, batch: req.batch, seq });
    const total = Object.values(parts).reduce((a, b) => a + b, 0);
    return { parts, total, parameters: gateParameterCount(cfg, ranks.length), rows: rows.length, seq };
  }

  /** Trains a gate over the runs' adapters on the dataset's training split and stores it. */
  async train(req: GateTrainRequest, onStep?: (step: number, loss: number) => void): Promise<GateSummary> {
    if (this.busy) throw new Error('a gate is already training');
    checkSettings(req);
    this.busy = true;
    const abort = (this.abortController = new AbortController());
    try {
      const s = await this.base();
      const model = s.requireModel();
      const adapters = await this.adapters(s, req.runIds);
      const { rows, seq, name: dataset } = await this.rows(s, req.datasetId);
      const gate = await AdapterGate.create(s.gpu, model.cfg, adapters);
      gate.attach(model);
      try {
        const seed = req.seed ?? 42;
        // Stopping (abortGeneration) ends the training after the step under way; nothing is stored.
        const step = (n: number, loss: number) => {
          onStep?.(n, loss);
          if (abort.signal.aborted) throw new Error(`the gate training was stopped at step ${n}; nothing was saved`);
        };
        const losses = await trainGate(model, gate, rows, seq, { steps: req.steps, batch: req.batch, lr: req.lr, weightDecay: 0, seed }, step);
        const baseModel = adapters.find((a) => a.baseModel)?.baseModel ?? s.info().name;
        const files = await gateFiles(gate, adapters.map((a) => a.name), baseModel);
        const record: GateRecord = {
          id: newId('gate'), name: req.name.trim() || adapters.map((a) => a.name).join('+'), createdAt: Date.now(), model: s.info().name,
          adapters: adapters.map((a, k) => ({ name: a.name, runId: req.runIds[k]!, r: a.files.settings.r })),
          dataset, steps: req.steps, batch: req.batch, lr: req.lr, losses, files: { ...files },
        };
        await this.store.set(key(record.id), record);
        return strip(record);
      } finally {
        gate.detach(model);
        s.dropAdapter();
        gate.destroy();
      }
    } finally {
      this.busy = false;
      if (this.abortController === abort) this.abortController = null;
    }
  }

  /** Generates with a saved gate over its runs' adapters (the path of `generate --gate`), and its routing. */
  async generate(req: GateGenerateRequest, onToken?: (t: GeneratedToken) => void): Promise<GateGenerateResult> {
    const abort = (this.abortController = new AbortController());
    try {
      const record = await this.record(req.gateId);
      const s = await this.base();
      const model = s.requireModel();
      const gate = await this.load(s, record);
      gate.attach(model);
      try {
        const prompt = req.messages ? { messages: req.messages } : { text: req.prompt ?? '' };
        const g = await generateText(s, prompt, { ...req.sampling, signal: abort.signal, onToken });
        const weights = await gateRouting(model, gate, promptIds(s, prompt), g.tokens.map((t) => t.id));
        return {
          text: g.text ?? '', tokens: g.tokens, stopReason: g.stopReason, meanLogprob: g.meanLogprob,
          routing: gate.names.map((name, k) => ({ name, weight: weights[k]! })),
        };
      } finally {
        gate.detach(model);
        s.dropAdapter();
        gate.destroy();
      }
    } finally {
      if (this.abortController === abort) this.abortController = null;
    }
  }

  /**
   * The gate as a .zip in train-gate's layout: gate.safetensors and gate_config.json, and each
   * adapter's PEFT folder under its name (the paths gate_config.json records), so
   * `tabtune generate --gate DIR` reads the unzipped folder as it is.
   */
  async export(id: string): Promise<ExportedFile> {
    const record = await this.record(id);
    const files: Record<string, Uint8Array> = { [GATE_CONFIG]: record.files[GATE_CONFIG]!, [GATE_WEIGHTS]: record.files[GATE_WEIGHTS]! };
    for (const a of record.adapters) {
      const run = await this.runs.files(a.runId);
      for (const f of ['adapter_config.json', 'adapter_model.safetensors']) files[`${a.name}/${f}`] = run[f]!;
    }
    const folder = `${safeName(record.name)}-gate`;
    return { name: `${folder}.zip`, bytes: zipFolder(folder, files), mime: 'application/zip' };
  }

  /**
   * The session with no adapter on its model (refused while a run trains) and the base in f32, as
   * train-gate and generate --gate hold it, whichever run's base (int8, NF4, f16) was held last.
   */
  private async base(): Promise<Session> {
    const s = await this.host.attachRunAdapter(null);
    await holdBase(s, this.host.files, {});
    return s;
  }

  private async record(id: string): Promise<GateRecord> {
    const r = await this.store.get<GateRecord>(key(id));
    if (!r) throw new Error(`no gate ${id} (was it deleted?)`);
    return r;
  }

  /** A stored gate on the GPU over its runs' adapters, checked against what it was trained with. */
  private async load(s: Session, record: GateRecord): Promise<AdapterGate> {
    const cfg = s.requireModel().cfg;
    const tree = memoryTree(record.name, record.files);
    const config = await readGateConfig(tree, cfg);
    const adapters = await this.adapters(s, record.adapters.map((a) => a.runId));
    adapters.forEach((a, k) => {
      const want = config.adapters[k]!;
      if (a.files.settings.r !== want.r) throw new Error(`adapter "${want.name}" has r=${a.files.settings.r}; the gate was trained with r=${want.r}`);
    });
    const gate = await AdapterGate.create(s.gpu, cfg, adapters.map((a, k) => ({ ...a, name: config.adapters[k]!.name })));
    try {
      gate.setValues(await readGateWeights(tree, config));
    } catch (e) {
      gate.destroy();
      throw e;
    }
    return gate;
  }

  /** The runs' adapters under unique file-safe names, refused as train-gate refuses them (DoRA, other bases, fewer than two). */
  private async adapters(s: Session, runIds: readonly string[]): Promise<GateAdapter[]> {
    if (runIds.length > 4) throw new Error(`a gate in the app mixes two to four adapters, got ${runIds.length}`);
    const cfg = s.requireModel().cfg;
    const taken = new Set<string>();
    const out: GateAdapter[] = [];
    for (const id of runIds) {
      const run = await this.runs.get(id);
      const files = await this.runs.files(id);
      if (run.model.name !== s.info().name) throw new Error(`run "${run.name}" was trained on ${run.model.name}; the loaded model is ${s.info().name}`);
      if (!files['adapter_model.safetensors']) throw new Error(`run "${run.name}" trained every weight; a gate mixes LoRA adapters`);
      let name = safeName(run.name);
      for (let n = 2; taken.has(name); n++) name = `${safeName(run.name)}-${n}`;
      taken.add(name);
      out.push(await readGateAdapter(name, cfg, memoryTree(`run ${run.name}`, files)));
    }
    checkGateAdapters(out);
    return out;
  }

  /** The dataset's training split as unpacked rows (as train-gate reads its --data). */
  private async rows(s: Session, datasetId: string) {
    const meta = await this.datasets.get(datasetId);
    const data = await this.tokenized.data(meta);
    const train = splitExamples(data).train;
    if (train.length === 0) throw new Error(`dataset ${meta.name} has no training examples with this model's tokenizer`);
    const r = trainingRows({ train, validation: [] }, s.requireModel().cfg, s.padTokenId(), { maxLength: meta.options.maxLength, packing: false });
    return { rows: r.train, seq: r.seq, name: meta.name };
  }
}
