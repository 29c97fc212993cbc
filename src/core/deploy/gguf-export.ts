/**
 * A model (optionally with a LoRA adapter merged in) or an adapter alone, as GGUF files llama.cpp
 * loads: the metadata, and one lazily-encoded source per tensor for `ggufChunks`.
 *
 * Tensor types follow convert_hf_to_gguf.py: 1-D tensors, position embeddings and rope_freqs
 * stay F32; 2-D weights take the requested type, and a Q8_0 request for rows that are not a
 * multiple of 32 falls back to F16.
 */
import { archSpec } from '../model/arch/index.ts';
import type { ModelConfig } from '../model/config.ts';
import type { GgufMetadata, GgufTensorSource } from '../formats/gguf.ts';
import { architectureMetadata, FILE_TYPE, generalMetadata } from './gguf-metadata.ts';
import { loraFactorNames, mergeWeight, type LoraFactors } from '../formats/gguf-merge.ts';
import { encodeTensorData, GgmlType, QK8_0 } from '../formats/gguf-quant.ts';
import { applyLayout, ggufModuleName, llama3RopeFactors, nameResolver, tensorPlans, type TensorPlan } from './gguf-tensors.ts';
import { vocabMetadata, type VocabSpecials } from '../formats/gguf-vocab.ts';
import { linearModules } from '../formats/peft.ts';

export type GgufOutType = 'f32' | 'f16' | 'q8_0';
export const GGUF_OUT_TYPES: readonly GgufOutType[] = ['f32', 'f16', 'q8_0'];
const TYPE_OF: Record<GgufOutType, GgmlType> = { f32: GgmlType.F32, f16: GgmlType.F16, q8_0: GgmlType.Q8_0 };

/** A Hugging Face model folder, read tensor by tensor. */
export interface ModelSource {
  readonly cfg: ModelConfig;
  readonly name: string;
  /** The checkpoint, named in errors. */
  readonly file: string;
  readonly tensorNames: Iterable<string>;
  read(hfName: string): Promise<Float32Array>;
  readonly tokenizerJson: unknown;
  readonly tokenizerFile: string;
  readonly specials: VocabSpecials;
  readonly chatTemplate?: string;
}

export interface GgufFilePlan {
  readonly metadata: GgufMetadata;
  readonly tensors: GgufTensorSource[];
  readonly warnings: string[];
}

/** The ggml type a tensor is stored in for a requested output type. */
export function storedType(name: string, shape: readonly number[], want: GgufOutType): GgmlType {
  if (shape.length === 1 || name === 'position_embd.weight' || name === 'rope_freqs.weight') return GgmlType.F32;
  const t = TYPE_OF[want];
  if (t === GgmlType.Q8_0 && shape[shape.length - 1]! % QK8_0 !== 0) return GgmlType.F16;
  return t;
}

function isConv1d(cfg: ModelConfig, plan: TensorPlan): boolean {
  return linearModules(cfg.arch).find((m) => m.id === plan.lora?.module)?.conv1d === true;
}

/** The merged model as a GGUF file. */
export function modelGguf(src: ModelSource, type: GgufOutType, lora?: LoraFactors): GgufFilePlan {
  const { cfg } = src;
  const md = generalMetadata(cfg, src.name, 'model');
  md.set('general.file_type', { type: 'u32', value: FILE_TYPE[TYPE_OF[type]] });
  md.set('general.quantization_version', { type: 'u32', value: 2 });
  architectureMetadata(cfg, md);
  const warnings = vocabMetadata(src.tokenizerJson, src.tokenizerFile, cfg.vocabSize, src.specials, md);
  if (src.chatTemplate) md.set('tokenizer.chat_template', { type: 'string', value: src.chatTemplate });
  const plans = tensorPlans(cfg, nameResolver(src.tensorNames), src.file);
  const tensors = plans.map((plan): GgufTensorSource => {
    const shape = plan.layout.kind === 'transpose' ? [plan.hfShape[1]!, plan.hfShape[0]!] : [...plan.hfShape];
    const stored = storedType(plan.gguf, shape, type);
    return {
      info: { name: plan.gguf, shape, type: stored },
      async data() {
        let x = plan.hf === null ? llama3RopeFactors(cfg) : await src.read(plan.hf);
        if (x.length !== plan.hfShape.reduce((a, b) => a * b, 1)) {
          throw new RangeError(`${src.file}: tensor "${plan.hf}" does not have shape [${plan.hfShape}]`);
        }
        if (lora && plan.lora) x = mergeWeight(x, plan.hfShape, isConv1d(cfg, plan), lora, plan.lora.layer, plan.lora.module);
        return encodeTensorData(applyLayout(x, plan.hfShape, plan.layout).data, stored);
      },
    };
  });
  return { metadata: md, tensors, warnings };
}

/**
 * The adapter alone as a llama.cpp LoRA GGUF (convert_lora_to_gguf.py): `general.type=adapter`,
 * `adapter.type=lora`, `adapter.lora.alpha`, and `<base tensor>.lora_a` [r, in] / `.lora_b`
 * [out, r] in the base GGUF's layout (Llama's q/k permutation applies to B's rows). llama.cpp
 * scales by alpha/r; for rsLoRA (alpha/√r) the alpha written is alpha·√r.
 */
export function loraGguf(cfg: ModelConfig, lora: LoraFactors, name: string, type: GgufOutType): GgufFilePlan {
  const md = generalMetadata(cfg, name, 'adapter');
  md.set('general.file_type', { type: 'u32', value: FILE_TYPE[TYPE_OF[type]] });
  md.set('adapter.type', { type: 'string', value: 'lora' });
  md.set('adapter.lora.alpha', { type: 'f32', value: lora.rslora ? lora.alpha * Math.sqrt(lora.r) : lora.alpha });
  const tensors: GgufTensorSource[] = [];
  for (let layer = 0; layer < cfg.layers; layer++) {
    for (const m of linearModules(cfg.arch)) {
      const names = loraFactorNames(layer, m.id);
      const a = lora.values.get(names.a);
      const b = lora.values.get(names.b);
      if (!a || !b) continue;
      const { in: inF, out: outF } = m.features(cfg);
      const base = ggufModuleName(cfg, layer, m.id);
      const heads = !archSpec(cfg.arch).gguf.permuteQK ? 0 : m.id === 'self_attn.q_proj' ? cfg.heads : m.id === 'self_attn.k_proj' ? cfg.kvHeads : 0;
      const push = (suffix: string, shape: number[], values: Float32Array, permute: boolean): void => {
        const stored = storedType(`${base}.${suffix}`, shape, type);
        tensors.push({
          info: { name: `${base}.${suffix}`, shape, type: stored },
          data: async () => encodeTensorData(permute ? applyLayout(values, shape, { kind: 'permute', heads }).data : values, stored),
        });
      };
      push('lora_a', [lora.r, inF], a, false);
      push('lora_b', [outF, lora.r], b, heads > 0);
    }
  }
  return { metadata: md, tensors, warnings: [] };
}
