import { memoryTree, readAll, type FileTree } from './formats/bytes.ts';
import { readGenerationConfig, type GenerationConfig } from './formats/generation-config.ts';
import { resolveTargets } from './formats/peft.ts';
import { Tokenizer } from './formats/tokenizer/tokenizer.ts';
import type { AdapterSummary, Gpu } from './gpu/gpu.ts';
import type { ModelConfig } from './model/config.ts';
import { Generator, type Generation, type GenerateOptions } from './model/generate.ts';
import { inspectModel, loadTransformer, type InspectedModel } from './model/load.ts';
import type { QuantOption } from './model/base-quant.ts';
import { AdapterSet } from './model/adapter-set.ts';
import { LoraAdapter, type LoraOptions, type PeftAdapterFiles } from './model/lora.ts';
import { mergeLora, modelSafetensors } from './model/merge.ts';
import { padTokenId, stopTokenIds } from './model/stop-tokens.ts';
import type { Precision } from './model/precision.ts';
import type { Transformer } from './model/transformer.ts';

export interface AdapterInfo {
  readonly r: number;
  readonly alpha: number;
  readonly dropout: number;
  readonly rslora: boolean;
  readonly targets: readonly string[];
  readonly parameters: number;
}

export interface ModelInfo {
  readonly name: string;
  readonly arch: string;
  readonly config: ModelConfig;
  readonly parameters: number;
  readonly hasTokenizer: boolean;
  readonly hasChatTemplate: boolean;
  readonly adapter: AdapterInfo | null;
  readonly gpu: AdapterSummary;
}

/** Files that travel with a merged model so transformers can load it with its tokenizer. */
const COPIED_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja', 'generation_config.json'];

/** A model folder read and checked on the CPU: nothing touches the GPU until it is known good. */
export interface PreparedModel {
  readonly tree: FileTree;
  readonly inspected: InspectedModel;
  readonly tokenizer: Tokenizer | null;
  readonly generation: GenerationConfig | null;
}

export async function prepareModel(tree: FileTree): Promise<PreparedModel> {
  const tokenizer = (await tree.open('tokenizer.json')) ? await Tokenizer.fromTree(tree) : null;
  return { tree, inspected: await inspectModel(tree), tokenizer, generation: await readGenerationConfig(tree) };
}

/**
 * One loaded model and what is done with it: the single API the Web Worker, the CLI and the
 * tests drive. It owns the model, its tokenizer, an optional LoRA adapter and a generator.
 */
export class Session {
  model: Transformer | null = null;
  tokenizer: Tokenizer | null = null;
  /** Ids that end a generated answer, from the model's config, generation config and tokenizer. */
  stopTokens: readonly number[] = [];
  private generationConfig: GenerationConfig | null = null;
  private source: FileTree | null = null;
  private generator: Generator | null = null;
  /** Several named adapters over this base (loadAdapters); null: at most the one `model.lora`. */
  private adapterSet: AdapterSet | null = null;

  constructor(readonly gpu: Gpu) {}

  requireModel(): Transformer {
    if (!this.model) throw new Error('no model is loaded');
    return this.model;
  }

  requireTokenizer(): Tokenizer {
    if (!this.tokenizer) throw new Error('this model folder has no tokenizer.json; pass token ids instead of text');
    return this.tokenizer;
  }

  /** Loads config, weights and (when present) the tokenizer of a Hugging Face model folder. */
  /**
   * `quant` (or `int8`): hold the base's linear weights as int8 or NF4 (LoRA, evaluation and generation;
   * 1/4 or 1/7 of the memory); `precision` f16: as halves.
   */
  async loadModel(
    from: FileTree | PreparedModel, onProgress?: (done: number, total: number) => void, o: QuantOption & { precision?: Precision } = {},
  ): Promise<ModelInfo> {
    const prepared = 'inspected' in from ? from : await prepareModel(from);
    this.unloadModel();
    this.model = await loadTransformer(this.gpu, prepared.inspected, onProgress, o);
    this.tokenizer = prepared.tokenizer;
    this.generationConfig = prepared.generation;
    this.stopTokens = stopTokenIds(this.model.cfg, this.tokenizer, this.generationConfig);
    this.source = prepared.tree;
    return this.info();
  }

  /** A tokenizer-only folder (for `tabtune tokenize`). */
  async loadTokenizer(tree: FileTree): Promise<Tokenizer> {
    this.tokenizer = await Tokenizer.fromTree(tree);
    return this.tokenizer;
  }

  /** The id that pads rows and batches (the same for training, evaluation and every host). */
  padTokenId(): number {
    return padTokenId(this.requireModel().cfg, this.generationConfig);
  }

  info(): ModelInfo {
    const m = this.requireModel();
    return {
      name: this.source?.name ?? 'model',
      arch: m.cfg.arch,
      config: m.cfg,
      parameters: m.weights.store.count,
      hasTokenizer: this.tokenizer !== null,
      hasChatTemplate: Boolean(this.tokenizer?.chatTemplate),
      adapter: this.adapterInfo(),
      gpu: this.gpu.adapter,
    };
  }

  adapterInfo(): AdapterInfo | null {
    const lora = this.model?.lora;
    if (!lora) return null;
    const s = lora.settings;
    return { r: s.r, alpha: s.alpha, dropout: s.dropout, rslora: s.rslora, targets: s.targets, parameters: lora.parameterCount };
  }

  async loadAdapter(from: FileTree | PeftAdapterFiles): Promise<AdapterInfo> {
    const m = this.requireModel();
    const adapter = await LoraAdapter.load(this.gpu, m.cfg, from);
    this.setAdapter(adapter);
    return this.adapterInfo()!;
  }

  /** A fresh adapter with PEFT's initialisation (B = 0: the model starts unchanged). */
  newAdapter(o: LoraOptions, seed: number): AdapterInfo {
    const m = this.requireModel();
    const targets = resolveTargets(m.cfg.arch, o.targets === 'all-linear' ? 'all-linear' : [...o.targets], { shape: m.cfg });
    this.setAdapter(LoraAdapter.create(this.gpu, m.cfg, { r: o.r, alpha: o.alpha, dropout: o.dropout, rslora: o.rslora, targets, dora: o.dora }, seed));
    return this.adapterInfo()!;
  }

  dropAdapter(): void {
    this.setAdapter(null);
  }

  /** Loads named adapters over the one base (replacing any adapter); the first is used until useAdapter. */
  async loadAdapters(entries: readonly { name: string; from: FileTree | PeftAdapterFiles }[]): Promise<string[]> {
    const m = this.requireModel();
    this.setAdapter(null);
    const set = new AdapterSet();
    try {
      for (const e of entries) set.add(e.name, await LoraAdapter.load(this.gpu, m.cfg, e.from));
    } catch (e) {
      set.destroy(m);
      throw e;
    }
    this.adapterSet = set;
    this.useAdapter(set.names[0] ?? null);
    return set.names;
  }

  /** Switches to a loaded adapter (null: the base alone) without reloading any weights. */
  useAdapter(name: string | null): AdapterInfo | null {
    const m = this.requireModel();
    if (!this.adapterSet) throw new Error('no adapters are loaded by name (loadAdapters)');
    this.adapterSet.use(m, name);
    this.resetGenerator();
    return this.adapterInfo();
  }

  /** The names loadAdapters loaded, in order. */
  get adapterNames(): string[] {
    return this.adapterSet?.names ?? [];
  }

  private setAdapter(adapter: LoraAdapter | null): void {
    const m = this.requireModel();
    m.setTrainable('none');
    this.adapterSet?.destroy(m);
    this.adapterSet = null;
    m.lora?.destroy();
    m.lora = adapter;
    this.resetGenerator();
  }

  private resetGenerator(): void {
    this.generator?.destroy();
    this.generator = null;
  }

  /**
   * Generates after `prompt`, stopping at the model's stop tokens (unless `ignoreEos`) and at any
   * `stopTokens` given. Streaming hosts go through pipeline/generate.ts.
   */
  async generate(prompt: readonly number[], o: GenerateOptions): Promise<Generation & { text: string | null }> {
    const m = this.requireModel();
    this.generator ??= new Generator(m);
    const stopTokens = [...(o.ignoreEos ? [] : this.stopTokens), ...(o.stopTokens ?? [])];
    const out = await this.generator.generate(prompt, { ...o, stopTokens });
    return { ...out, text: this.tokenizer ? this.tokenizer.decode(out.ids, { skipSpecialTokens: true }) : null };
  }

  /** adapter_config.json + adapter_model.safetensors. */
  async saveAdapter(): Promise<Record<string, Uint8Array>> {
    const lora = this.requireModel().lora;
    if (!lora) throw new Error('there is no adapter to save');
    return lora.save(this.gpu, this.source?.name ?? null);
  }

  /**
   * A full model folder transformers loads: the adapter merged into the weights (in the base
   * dtype), config.json, and the tokenizer files. The adapter stays attached: the merge runs on a
   * copy of the weights, which this session then discards.
   */
  async saveMerged(): Promise<Record<string, Uint8Array>> {
    const m = this.requireModel();
    if (!this.source) throw new Error('the model source is gone');
    const files: Record<string, Uint8Array> = {};
    for (const name of ['config.json', ...COPIED_FILES]) {
      const src = await this.source.open(name);
      if (src) files[name] = await readAll(src);
    }
    if (m.lora || m.weights.quant !== 'none' || m.weights.precision === 'f16') {
      // The merge runs on a fresh f32 copy of the base (exact, whatever this session holds).
      const copy = await loadTransformer(this.gpu, this.source);
      try {
        if (m.lora) {
          const saved = await m.lora.save(this.gpu, null);
          copy.lora = await LoraAdapter.load(this.gpu, copy.cfg, memoryTree('adapter', saved));
          await mergeLora(copy);
        }
        files['model.safetensors'] = await modelSafetensors(copy);
      } finally {
        copy.destroy();
      }
    } else {
      files['model.safetensors'] = await modelSafetensors(m);
    }
    return files;
  }

  unloadModel(): void {
    this.resetGenerator();
    this.adapterSet?.destroy(this.model);
    this.adapterSet = null;
    this.model?.destroy();
    this.model = null;
  }

  dispose(): void {
    this.unloadModel();
    this.gpu.destroy();
  }
}
