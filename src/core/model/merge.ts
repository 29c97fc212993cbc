import { writeSafetensors, f32ToBf16, f32ToF16, type Dtype } from '../formats/safetensors.ts';
import { Program } from '../gpu/program.ts';
import { matmul } from '../kernels/matmul.ts';
import { siteParam } from './moe-lora.ts';
import type { Transformer } from './transformer.ts';

/** W += scaling · B·A for every module of the attached adapter (DoRA: W ← m/‖W + s·B·A‖ · (W + s·B·A)), then detaches it. */
export async function mergeLora(model: Transformer): Promise<void> {
  const lora = model.lora;
  if (!lora) throw new Error('no LoRA adapter to merge');
  if (model.weights.quant !== 'none') throw new Error(`merging needs the base in f32 (this one is held as ${model.weights.quant})`);
  if (model.weights.precision === 'f16') throw new Error('merging needs the base in f32 (this one is held as f16)');
  const p = new Program('merge');
  for (const m of lora.modules) {
    const w = model.w(siteParam(model.cfg, m.layer, m.site));
    if (m.magnitude) {
      await lora.dora!.merge(p, m, lora.doraWeights(m, w));
      continue;
    }
    // Our weights are [out, in]: the module's output columns are rows [col, col + out).
    await matmul(model.gpu, p, {
      a: lora.store.get(m.b), b: lora.store.get(m.a), c: { ...w, offset: w.offset + m.col * m.in },
      M: m.out, N: m.in, K: lora.settings.r, alpha: lora.scaling, beta: 1,
    });
  }
  model.gpu.run(p);
  await model.gpu.sync();
  lora.destroy();
  model.lora = null;
}

/** Converts f32 values to a checkpoint dtype. */
function encode(data: Float32Array, dtype: Dtype): { dtype: Dtype; data: Float32Array | Uint16Array } {
  if (dtype === 'BF16') return { dtype, data: f32ToBf16(data) };
  if (dtype === 'F16') return { dtype, data: f32ToF16(data) };
  return { dtype: 'F32', data };
}

/**
 * The model's weights as a Hugging Face model.safetensors, each tensor in the dtype it had in the
 * base checkpoint (config.json's dtype when the tensor is new).
 */
export async function modelSafetensors(model: Transformer): Promise<Uint8Array> {
  const tensors = [];
  for (const [name, t] of await model.weights.readHf()) {
    const hf = name.replace(/^(model\.|transformer\.)/, '');
    const dtype = model.weights.dtypes.get(hf) ?? 'F32';
    tensors.push({ name, shape: [...t.shape], ...encode(t.data, dtype) });
  }
  tensors.sort((a, b) => (a.name < b.name ? -1 : 1));
  return writeSafetensors(tensors);
}
