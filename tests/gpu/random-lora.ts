import type { Gpu } from '../../src/core/gpu/gpu.ts';
import { readTensor } from '../../src/core/gpu/tensor.ts';
import type { Transformer } from '../../src/core/model/transformer.ts';
import type { LoraValues } from '../reference/weights-ref.ts';
import { randomArray } from './gpu-harness.ts';

/**
 * Gives the model's LoRA adapter (rank `r`) random B (seeds `seed` + module index, ±0.3): PEFT starts B at zero,
 * and a non-zero B makes the adapter's effect, and A's gradient, visible. Returns float64 copies of every module's A and B.
 */
export async function randomLoraValues(gpu: Gpu, model: Transformer, r: number, seed: number): Promise<LoraValues[]> {
  const lora = model.lora!;
  lora.modules.forEach((m, i) => {
    const t = lora.store.get(m.b);
    gpu.write(t.buffer, randomArray(m.out * r, seed + i, 0.3), t.offset * 4);
  });
  const mods: LoraValues[] = [];
  for (const m of lora.modules) {
    const A = Float64Array.from(await readTensor(gpu, lora.store.get(m.a)));
    const B = Float64Array.from(await readTensor(gpu, lora.store.get(m.b)));
    mods.push({ layer: m.layer, id: m.id, inF: m.in, outF: m.out, A, B });
  }
  return mods;
}
