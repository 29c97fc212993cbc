import { InputError } from '../errors.ts';
import type { Dtype, SafetensorsModel, TensorInfo } from '../formats/safetensors.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Program } from '../gpu/program.ts';
import { halfToF32 } from '../kernels/convert.ts';
import { baseQuantOf, quantizedSpecs, readQuantized, writeQuantized, type BaseQuant } from './base-quant.ts';
import type { ModelConfig } from './config.ts';
import { bodyPrefix, paramSpecs, placements, vocabChunks, type Placement } from './layout.ts';
import { maxParamElements, ParamStore } from './param-store.ts';
import { halfSpecs, halfWeight, readHalves, writeHalves, type Precision } from './precision.ts';

/** Tensors a checkpoint may carry that are not parameters (causal-mask buffers, cached RoPE). */
const IGNORED = [/\.attn\.bias$/, /\.attn\.masked_bias$/, /rotary_emb\.inv_freq$/];

export function transpose(src: Float32Array, rows: number, cols: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c]!;
  return out;
}

/** The base model's parameters on the GPU, with the map back to Hugging Face names. */
export class ModelWeights {
  private constructor(
    private readonly gpu: Gpu,
    readonly cfg: ModelConfig,
    readonly store: ParamStore,
    readonly chunks: readonly { start: number; rows: number }[],
    readonly placements: readonly Placement[],
    /** dtype of each HF tensor as it was in the checkpoint (export writes the same). */
    readonly dtypes: ReadonlyMap<string, Dtype>,
  ) {}

  static layout(gpu: Gpu, cfg: ModelConfig, quant: BaseQuant = 'none', precision: Precision = 'f32') {
    const chunks = vocabChunks(cfg.vocabSize, cfg.hidden, maxParamElements(gpu));
    const specs = quantizedSpecs(paramSpecs(cfg, chunks), quant);
    return { chunks, specs: precision === 'f16' && quant === 'none' ? halfSpecs(specs) : specs, placements: placements(cfg, chunks) };
  }

  /** How the linear weights are held: f32, or quantised (int8 / NF4) for a frozen LoRA base. */
  get quant(): BaseQuant {
    return baseQuantOf(this.store);
  }

  /** f16 when the linear weights are held as halves (`--precision f16`). */
  get precision(): Precision {
    return this.store.names.some((n) => n.endsWith('.f16')) ? 'f16' : 'f32';
  }

  /**
   * Checks every tensor's presence and shape from the headers first, so a bad checkpoint fails
   * before anything is uploaded, then uploads one tensor at a time.
   */
  static async load(
    gpu: Gpu, cfg: ModelConfig, st: SafetensorsModel, name: string, onProgress?: (done: number, total: number) => void,
    quant: BaseQuant = 'none', precision: Precision = 'f32',
  ): Promise<ModelWeights> {
    const { chunks, specs, placements: places } = ModelWeights.layout(gpu, cfg, quant, precision);
    const resolved = ModelWeights.check(cfg, st, name, places);
    const store = ParamStore.create(gpu, specs, 'weights', 'weights');
    try {
      const dtypes = new Map<string, Dtype>();
      let done = 0;
      for (const { p, info } of resolved) {
        dtypes.set(p.hf, info.dtype);
        await upload(gpu, store, st, p, info);
        onProgress?.(++done, resolved.length);
      }
      await gpu.sync();
      return new ModelWeights(gpu, cfg, store, chunks, places, dtypes);
    } catch (e) {
      store.destroy();
      throw e;
    }
  }

  /**
   * Checks that the checkpoint holds every tensor the config implies, with the right shapes and
   * dtypes, and nothing unexpected; runs on the headers alone, before any GPU work.
   */
  static check(
    cfg: ModelConfig,
    st: SafetensorsModel,
    name: string,
    places: readonly Placement[] = placements(cfg, [{ start: 0, rows: cfg.vocabSize }]),
  ): { p: Placement; info: TensorInfo }[] {
    const resolved = places.map((p) => ({ p, info: resolve(cfg, st, p, name) }));
    const used = new Set(resolved.map((r) => r.info.name));
    for (const n of st.names()) {
      const tiedHead = n === 'lm_head.weight' && cfg.tiedEmbeddings;
      if (!used.has(n) && !tiedHead && !IGNORED.some((re) => re.test(n))) {
        throw new InputError(name, `unexpected tensor for a ${cfg.arch} model with this config`, `tensor "${n}"`);
      }
    }
    return resolved;
  }

  /** The tensors of `store` (these weights, or a mirror such as gradients) under their HF names. */
  async readHf(store: ParamStore = this.store): Promise<Map<string, { shape: readonly number[]; data: Float32Array }>> {
    const out = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    const prefix = bodyPrefix(this.cfg);
    for (const p of this.placements) {
      const count = p.shape.reduce((a, b) => a * b, 1);
      let data = new Float32Array(count);
      for (const part of p.parts) {
        const half = halfWeight(store, part.param);
        if (half) {
          data.set(await readHalves(this.gpu, half, part.paramOffset, part.count), part.hfOffset);
          continue;
        }
        if (!store.has(part.param)) {
          data.set(await readQuantized(this.gpu, store, part.param, linearCols(p), part.paramOffset, part.count), part.hfOffset);
          continue;
        }
        const t = store.get(part.param);
        data.set(await this.gpu.readF32(t.buffer, (t.offset + part.paramOffset) * 4, part.count), part.hfOffset);
      }
      if (p.transpose) data = transpose(data, p.shape[1]!, p.shape[0]!);
      out.set((p.inBody ? prefix : '') + p.hf, { shape: p.shape, data });
    }
    return out;
  }

  destroy(): void {
    this.store.destroy();
  }
}

function resolve(cfg: ModelConfig, st: SafetensorsModel, p: Placement, file: string): TensorInfo {
  const candidates = p.inBody ? [bodyPrefix(cfg) + p.hf, p.hf] : [p.hf];
  const found = candidates.find((c) => st.has(c));
  if (!found) throw new InputError(file, `missing tensor "${candidates[0]}" that a ${cfg.arch} model with this config needs`);
  const info = st.info(found)!;
  if (info.shape.length !== p.shape.length || info.shape.some((v, i) => v !== p.shape[i])) {
    throw new InputError(file, `shape [${info.shape}] does not match [${p.shape}] from config.json`, `tensor "${found}"`);
  }
  if (!['F32', 'F16', 'BF16', 'F64'].includes(info.dtype)) {
    throw new InputError(file, `dtype ${info.dtype} is not supported for weights (F32, F16, BF16)`, `tensor "${found}"`);
  }
  return info;
}

async function upload(gpu: Gpu, store: ParamStore, st: SafetensorsModel, p: Placement, info: TensorInfo): Promise<void> {
  const half = info.dtype === 'BF16' || info.dtype === 'F16';
  if (half && !p.transpose && p.parts.every((x) => store.has(x.param))) {
    // Half-precision weights travel as they are and widen on the GPU, one part (a vocabulary
    // chunk, a q/k/v block) at a time so no staging buffer exceeds a binding.
    const raw = await st.readRaw(info.name);
    for (const part of p.parts) {
      const staging = gpu.upload(raw.subarray(part.hfOffset * 2, (part.hfOffset + part.count) * 2), 'staging', `upload ${info.name}`);
      const program = new Program('convert');
      const t = store.get(part.param);
      await halfToF32(gpu, program, info.dtype as 'BF16' | 'F16', staging, 0, { ...t, offset: t.offset + part.paramOffset }, part.count);
      gpu.run(program);
      gpu.destroyBuffer(staging);
    }
    return;
  }
  let data = await st.readF32(info.name);
  if (p.transpose) data = transpose(data, p.shape[0]!, p.shape[1]!);
  for (const part of p.parts) {
    const values = data.subarray(part.hfOffset, part.hfOffset + part.count);
    const half = halfWeight(store, part.param);
    if (half) {
      writeHalves(gpu, half, values, part.paramOffset);
      continue;
    }
    if (!store.has(part.param)) {
      writeQuantized(gpu, store, part.param, linearCols(p), part.paramOffset, values);
      continue;
    }
    const t = store.get(part.param);
    gpu.write(t.buffer, values, (t.offset + part.paramOffset) * 4);
  }
}

/** in_features of the [out, in] parameter a linear weight's placement fills (Conv1D tensors are [in, out]). */
const linearCols = (p: Placement): number => p.shape[p.transpose ? 0 : 1]!;
